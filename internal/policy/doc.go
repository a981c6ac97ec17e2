// Package policy parses, validates and evaluates AWS IAM policy documents
// (key policies, identity-based policies and role trust policies), and makes
// AWS KMS's authorization decision for a request on a key: the key policy,
// the caller's identity policies and the key's grants weighed together the
// way the AWS KMS Developer Guide documents.
//
// Every rule the package applies is AWS's, and the comment next to the code
// that applies it cites the page it comes from. Where AWS documents nothing,
// the comment says so and says what was chosen.
//
// Use it in three steps: [Parse] a document when it is set (CreateKey,
// PutKeyPolicy, an identity policy update), keep the *[Policy], and per
// request build a [Request] and call [DecideKMS] (or [Policy.Evaluate] for
// one policy alone). Parse compiles every pattern up front so that an
// allowed request is decided without allocating; a denial allocates only
// its message.
//
// What it must never do:
//
//   - Touch storage, the network, a clock, the environment or a log: it is
//     pure functions over its inputs. The caller supplies aws:CurrentTime
//     and every other condition key.
//   - Allow what AWS would deny. A document it cannot fully understand is
//     refused at Parse time (a *[MalformedError]) rather than half-applied;
//     a condition whose key the request lacks fails as AWS documents; a
//     policy variable it cannot resolve matches nothing; and there is no
//     root bypass of key policies, because AWS has none.
//   - Decide that a named principal exists. AWS KMS refuses key policies
//     that name unknown principals; the caller checks that.
package policy
