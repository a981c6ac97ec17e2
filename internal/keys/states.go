package keys

import (
	"fmt"
	"slices"
)

// This file is the one place that says what a key's state allows: which API
// operations may run on a key in each state, the error AWS KMS answers with
// when one may not, and which state changes exist.
//
// The table follows "Key states of AWS KMS keys" in the AWS KMS Developer
// Guide and its notes:
//
//	DisabledException: <key ARN> is disabled.
//	KMSInvalidStateException: <key ARN> is pending deletion.
//	KMSInvalidStateException: <key ARN> is not pending deletion.
//	KMSInvalidStateException: <key ARN> is pending import.
//	KMSInvalidStateException: <key ARN> is unavailable.
//
// Refusals that depend on the kind of key rather than its state (rotation
// of an asymmetric key, import into a key whose origin is AWS_KMS) are the
// operations' own business: the table answers only for the state.

// StateError is the refusal of an operation because of a key's state. Code
// is the AWS error type and Message AWS's text.
type StateError struct {
	Code    string
	Message string
}

func (e *StateError) Error() string { return e.Code + ": " + e.Message }

// The AWS error types of state refusals.
const (
	CodeDisabled     = "DisabledException"
	CodeInvalidState = "KMSInvalidStateException"
)

// verdict is what a state does to an operation.
type verdict uint8

const (
	ok         verdict = iota
	isDisabled         // DisabledException: <arn> is disabled.
	inState            // KMSInvalidStateException: <arn> is <state in words>.
	notPending         // KMSInvalidStateException: <arn> is not pending deletion.
)

// row holds the verdicts for Enabled, Disabled, PendingImport,
// PendingDeletion and Unavailable, in that order.
type row [5]verdict

func stateIndex(st State) int {
	switch st {
	case Enabled:
		return 0
	case Disabled:
		return 1
	case PendingImport:
		return 2
	case PendingDeletion:
		return 3
	case Unavailable:
		return 4
	}
	return -1
}

var (
	// Cryptographic use, and operations that behave like it.
	cryptoRow = row{ok, isDisabled, inState, inState, inState}
	// Management that only a deletion in progress stops.
	manageRow = row{ok, ok, ok, inState, ok}
	// Operations allowed whatever the state.
	anyRow = row{ok, ok, ok, ok, ok}
)

// matrix maps every operation that acts on an existing key to its row.
var matrix = map[string]row{
	// Cryptographic operations.
	"Decapsulate":                         cryptoRow,
	"Decrypt":                             cryptoRow,
	"DeriveSharedSecret":                  cryptoRow,
	"Encapsulate":                         cryptoRow,
	"Encrypt":                             cryptoRow,
	"GenerateDataKey":                     cryptoRow,
	"GenerateDataKeyPair":                 cryptoRow,
	"GenerateDataKeyPairWithoutPlaintext": cryptoRow,
	"GenerateDataKeyWithoutPlaintext":     cryptoRow,
	"GenerateMac":                         cryptoRow,
	"GetPublicKey":                        cryptoRow,
	"ReEncrypt":                           cryptoRow,
	"Sign":                                cryptoRow,
	"Verify":                              cryptoRow,
	"VerifyMac":                           cryptoRow,
	// A grant is refused where the operations it grants would be, except
	// that an unavailable key (custom key stores) can still get grants.
	"CreateGrant": {ok, isDisabled, inState, inState, ok},

	// Metadata, aliases, tags, policies and grants.
	"DescribeKey":          anyRow,
	"GetKeyPolicy":         anyRow,
	"ListKeyPolicies":      anyRow,
	"PutKeyPolicy":         anyRow,
	"ListAliases":          anyRow,
	"DeleteAlias":          anyRow,
	"ListGrants":           anyRow,
	"RetireGrant":          anyRow,
	"RevokeGrant":          anyRow,
	"ListResourceTags":     anyRow,
	"CreateAlias":          manageRow,
	"UpdateAlias":          manageRow, // the new target; the old one may be pending deletion
	"TagResource":          manageRow,
	"UntagResource":        manageRow,
	"UpdateKeyDescription": manageRow,

	// Enabling and disabling. A key without material cannot be enabled,
	// and a key pending deletion must have its deletion cancelled first.
	"EnableKey":  {ok, ok, inState, inState, ok},
	"DisableKey": {ok, ok, inState, inState, ok},

	// Deletion.
	"ScheduleKeyDeletion": manageRow,
	"CancelKeyDeletion":   {notPending, notPending, notPending, ok, notPending},

	// Rotation. Changing the automatic schedule needs an enabled key;
	// reading it does not (a key pending deletion reads as not rotating).
	"EnableKeyRotation":    cryptoRow,
	"DisableKeyRotation":   cryptoRow,
	"RotateKeyOnDemand":    cryptoRow,
	"GetKeyRotationStatus": anyRow,
	"ListKeyRotations":     anyRow,

	// Imported key material. Importing (or reimporting) works in every
	// state but PendingDeletion; deleting material works even then and
	// leaves the state alone (DeleteImportedKeyMaterial API reference).
	"GetParametersForImport":    {ok, ok, ok, inState, inState},
	"ImportKeyMaterial":         {ok, ok, ok, inState, inState},
	"DeleteImportedKeyMaterial": {ok, ok, ok, ok, inState},
}

// Operations returns the names of the operations the state table covers,
// sorted.
func Operations() []string {
	ops := make([]string, 0, len(matrix))
	for op := range matrix {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	return ops
}

// Allow returns nil if an operation named op (as in the AWS KMS API, such
// as "Encrypt") may run on k in its current state, and otherwise a
// *StateError with AWS's error. An operation missing from the table is
// refused in every state, so that a new operation cannot slip through
// without a rule.
func Allow(k *Key, op string) error {
	r, found := matrix[op]
	i := stateIndex(k.State)
	if !found || i < 0 {
		return &StateError{Code: CodeInvalidState, Message: fmt.Sprintf("%s is %s.", k.ARN(), k.State.Words())}
	}
	switch r[i] {
	case isDisabled:
		return &StateError{Code: CodeDisabled, Message: k.ARN() + " is disabled."}
	case inState:
		return &StateError{Code: CodeInvalidState, Message: k.ARN() + " is " + k.State.Words() + "."}
	case notPending:
		return &StateError{Code: CodeInvalidState, Message: k.ARN() + " is not pending deletion."}
	}
	return nil
}

// Words renders a state the way AWS's messages do ("pending deletion").
func (st State) Words() string {
	switch st {
	case Enabled:
		return "enabled"
	case Disabled:
		return "disabled"
	case PendingDeletion:
		return "pending deletion"
	case PendingImport:
		return "pending import"
	case Unavailable:
		return "unavailable"
	}
	return string(st)
}

// transitions lists the state changes a key can make. Deletion at the end
// of the waiting period is not a state: the key is gone.
var transitions = map[State][]State{
	// DisableKey; ScheduleKeyDeletion; imported material deleted or expired.
	Enabled: {Disabled, PendingDeletion, PendingImport},
	// EnableKey; ScheduleKeyDeletion; imported material deleted or expired.
	Disabled: {Enabled, PendingDeletion, PendingImport},
	// ImportKeyMaterial; ScheduleKeyDeletion.
	PendingImport: {Enabled, PendingDeletion},
	// CancelKeyDeletion: Disabled, or PendingImport for a key with imported
	// material that is missing.
	PendingDeletion: {Disabled, PendingImport},
	// Custom key stores only; Keyward has none.
	Unavailable: {PendingDeletion},
}

// CanTransition reports whether a key may go from state from to state to.
// Staying in the same state is always allowed.
func CanTransition(from, to State) bool {
	return from == to || slices.Contains(transitions[from], to)
}

// SetState moves k to state to, or returns an error naming the refused
// transition (a bug in the caller, not a client error).
func (k *Key) SetState(to State) error {
	if !CanTransition(k.State, to) {
		return fmt.Errorf("keys: %s cannot go from %s to %s", k.ID, k.State, to)
	}
	k.State = to
	return nil
}

// MissingMaterial reports whether k lacks material it needs to be usable:
// it never had any, or imported material (other than material pending
// rotation) was deleted or expired.
func (k *Key) MissingMaterial() bool {
	if k.Current() == nil {
		return true
	}
	for i := range k.Versions {
		if v := &k.Versions[i]; !v.Pending && v.Wrapped == nil {
			return true
		}
	}
	return false
}
