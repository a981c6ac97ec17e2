// Package audit keeps Keyward's audit log: one CloudTrail-format record per
// KMS request, durable before the response leaves the server, and
// tamper-evident afterwards.
//
// The HTTP layer builds an Event for every request and calls Log.Append,
// which returns only once the record is on disk (group commit: concurrent
// Appends share one fsync). If Append fails the request must fail too. Each
// record is hash-chained to the one before it, and at regular intervals a
// digest signed with Options.Signer fixes the hashes of all files written
// since the last one, as CloudTrail's log file validation does. Verify
// checks a directory offline; Query reads events back for `keyward audit
// query` and LookupEvents.
//
// The package must never hold secrets: no plaintext, data keys, private
// keys, secret access keys, grant or import tokens, or ciphertext blobs may
// reach an Event. Build requestParameters and responseElements with
// RequestParameters and ResponseElements, which keep only the fields AWS
// KMS itself logs. Like every Keyward library it never prints or exits:
// problems are returned, and recovery is reported through Log.Recovery.
//
// # On-disk format
//
// A log directory holds log files, digest files, a LOCK file and a LOG-ID
// file: the log's identity (32 hex digits) from its first Open, before any
// digest carries it.
//
// Log files are named audit-<first seq, 20 digits>-<creation time
// YYYYMMDDTHHMMSSZ>.log and are only ever appended to. Each line is one
// record:
//
//	{"seq":N,"prevHash":"<64 hex>","hash":"<64 hex>","event":<Event JSON>}\n
//
// seq counts records from 1 across all files. hash is
//
//	SHA-256(prevHash || uint64 big-endian seq || the event bytes as written)
//
// and prevHash is the hash of record seq-1 (32 zero bytes for record 1),
// so the chain continues from one file into the next. The event bytes are
// hashed exactly as they stand in the file, so verification never
// re-encodes JSON. A file is closed when it would exceed MaxFileBytes, when
// it is MaxFileAge old, and before every digest; a new file starts with the
// next record.
//
// Digest files are named digest-<digest seq, 20 digits>-<time>.json and hold
//
//	{"payload":<digest JSON>,"signature":"<base64>"}
//
// The signature is made with Options.Signer over "keyward audit digest
// v1\n" || payload (Ed25519 signs that message; ECDSA and RSA sign its
// SHA-256). The payload lists every log file closed since the previous
// digest (name, size, SHA-256, first and last seq, the first prevHash and
// the last hash), the chain head (lastSeq, lastHash), the SHA-256 and
// signature of the previous digest's payload, the public key fingerprint,
// the floor (below), any recovery Open performed, and the files retention
// deleted. Digests are written every DigestInterval, at Close, and at Open
// after an unclean shutdown. A digest is written to a temporary file,
// synced and renamed, so it is either whole or absent.
//
// # Durability and recovery
//
// A record's bytes are written and fdatasync'ed before its Append returns;
// a new file's directory entry is synced before any record in it is
// acknowledged. A crash can therefore leave only an incomplete or
// unverifiable run of records at the end of the last file, none of them
// acknowledged. Open returns that tail's offset, size and SHA-256 through
// Log.Recovery, signs them into a digest at once together with the files
// the crash left unsigned, and only then cuts the tail off; after a crash
// between the two, the next Open finishes the cut if the bytes there are
// the ones the digest describes.
//
// What a crash left unsigned is all Open has to go by, unless its owner
// remembers elsewhere a record the log made durable (Options.Durable; the
// server keeps one in its store, saved when the log opens and every second
// after). A trail of that log ending before it lost acknowledged records,
// which no crash does, and one whose record there has another hash was
// rewritten, chain and all; Open refuses both with ErrCorrupt before
// cutting or signing anything. A directory that no longer holds that log
// at all (removed, emptied, or swapped for another trail) it refuses with
// ErrOtherTrail. And a record written to a live file that someone deleted
// reaches no file: after each fsync the writer checks the file is still
// linked, and stops the Log if not.
//
// A write error stops the Log (ErrBroken): after a failed fsync nothing is
// known about the file. A full disk need not, because the live file is
// zero-filled ahead of its records (prealloc.go): when those zeros cannot
// be kept up, Err reports ErrNoSpace, the owner stops starting new work,
// and the work under way writes its records into the zeros left.
//
// # Retention
//
// Deleting old files must not look like tampering, so retention is itself
// recorded. After writing a digest, the Log deletes the oldest log files
// that a digest covers and whose last record is older than Retention,
// always a prefix so the remaining chain is contiguous, and then the oldest
// digests whose every file is gone (never the newest). Before deleting
// anything it writes, in the new digest, the floor: the first record that
// remains (its seq and prevHash) and the oldest digest that remains (its
// seq and hash). Verify takes the floor from the newest validly signed
// digest and checks from there: the oldest digest must be the one named,
// and the chain of records must start at the floor's seq with its
// prevHash. A file deleted any other way is still reported missing.
//
// # Trusting digests
//
// Open acts on digests: it continues the chain from the newest one's head,
// deletes what lies below its floor (a crash may have interrupted
// retention), skips the Options.Durable check for records a digest
// signed, and retention goes by what digests say of each file. So Open
// acts only on digests the signing key vouches for. The newest must
// verify with Options.Signer's key (else ErrUnverified), sit under its own
// sequence number, and belong to the log the LOG-ID file names (else
// ErrCorrupt: a real digest copied or renamed to sort last). Every digest
// from the oldest the newest's floor names on must be in the chain the
// newest reaches by hash, within the same log, or share a chain member's
// number (a retried write's first try, back after a power loss); else
// ErrUnverified: one was planted, or the newest came from another trail
// signed with the same key. A refused Open changes nothing.
//
// An owner who lost the key and goes on with a new one says so with
// Options.NewKey. Open then takes only the newest digest's head, lowers
// its floor to the oldest file and digest present (to the start of the
// log if the oldest file cannot be read), deletes nothing, refuses rather
// than cuts whole records that do not follow the head, checks
// the durable mark against the log files themselves, and signs the head
// with the new key at once, in a digest marked newKey: later Opens follow
// the chain of digests back to it and no further. The files from before
// it count, for retention, as last written when the new key took them
// over, and end where the chain of whole records that starts each says,
// which must be before the next file starts; the digests from before it
// are kept.
//
// # Limits
//
// The chain proves order and completeness only up to the newest signed
// digest: someone able to write the directory can rewrite or cut records
// written since, or delete the newest digests together with the files
// after them. Options.Durable narrows that to the records since its mark,
// for an Open that is given one, and so does VerifyMark. Copy digests
// elsewhere, as CloudTrail keeps them in S3, to protect the tail.
//
// Without a mark, a whole trail copied in from elsewhere, digests, files
// and LOG-ID, passes for the trail, if the same key signed it; the mark,
// which names the log, is what tells them apart. After a key replacement
// (Options.NewKey) the old key's digests stay, and Verify with the new key
// reports them until they are removed by hand.
package audit
