package keys

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestAllow checks every operation in every state against the key state
// table of the AWS KMS Developer Guide, written out independently of the
// matrix in states.go. Each cell is "ok" or the error AWS gives:
// "D" DisabledException "<arn> is disabled.", "S" KMSInvalidStateException
// "<arn> is <state>.", "N" KMSInvalidStateException "<arn> is not pending
// deletion.".
func TestAllow(t *testing.T) {
	states := []State{Enabled, Disabled, PendingImport, PendingDeletion, Unavailable}
	// Columns: Enabled Disabled PendingImport PendingDeletion Unavailable.
	want := map[string]string{
		"Decrypt":                             "ok D S S S",
		"DeriveSharedSecret":                  "ok D S S S",
		"Encapsulate":                         "ok D S S S",
		"Decapsulate":                         "ok D S S S",
		"Encrypt":                             "ok D S S S",
		"GenerateDataKey":                     "ok D S S S",
		"GenerateDataKeyPair":                 "ok D S S S",
		"GenerateDataKeyPairWithoutPlaintext": "ok D S S S",
		"GenerateDataKeyWithoutPlaintext":     "ok D S S S",
		"GenerateMac":                         "ok D S S S",
		"GetPublicKey":                        "ok D S S S",
		"ReEncrypt":                           "ok D S S S",
		"Sign":                                "ok D S S S",
		"Verify":                              "ok D S S S",
		"VerifyMac":                           "ok D S S S",
		"CreateGrant":                         "ok D S S ok",
		"DescribeKey":                         "ok ok ok ok ok",
		"GetKeyPolicy":                        "ok ok ok ok ok",
		"ListKeyPolicies":                     "ok ok ok ok ok",
		"PutKeyPolicy":                        "ok ok ok ok ok",
		"ListAliases":                         "ok ok ok ok ok",
		"DeleteAlias":                         "ok ok ok ok ok",
		"ListGrants":                          "ok ok ok ok ok",
		"RetireGrant":                         "ok ok ok ok ok",
		"RevokeGrant":                         "ok ok ok ok ok",
		"ListResourceTags":                    "ok ok ok ok ok",
		"CreateAlias":                         "ok ok ok S ok",
		"UpdateAlias":                         "ok ok ok S ok",
		"TagResource":                         "ok ok ok S ok",
		"UntagResource":                       "ok ok ok S ok",
		"UpdateKeyDescription":                "ok ok ok S ok",
		"EnableKey":                           "ok ok S S ok",
		"DisableKey":                          "ok ok S S ok",
		"ScheduleKeyDeletion":                 "ok ok ok S ok",
		"CancelKeyDeletion":                   "N N N ok N",
		"EnableKeyRotation":                   "ok D S S S",
		"DisableKeyRotation":                  "ok D S S S",
		"RotateKeyOnDemand":                   "ok D S S S",
		"GetKeyRotationStatus":                "ok ok ok ok ok",
		"ListKeyRotations":                    "ok ok ok ok ok",
		"GetParametersForImport":              "ok ok ok S S",
		"ImportKeyMaterial":                   "ok ok ok S S",
		"DeleteImportedKeyMaterial":           "ok ok ok ok S",
	}
	words := map[State]string{Enabled: "enabled", Disabled: "disabled", PendingImport: "pending import", PendingDeletion: "pending deletion", Unavailable: "unavailable"}
	for _, op := range Operations() {
		if _, ok := want[op]; !ok {
			t.Errorf("operation %s is in the state table but not in this test", op)
		}
	}
	for op, cells := range want {
		cols := strings.Fields(cells)
		if len(cols) != len(states) {
			t.Fatalf("%s: %d cells", op, len(cols))
		}
		for i, st := range states {
			k := &Key{ID: "1234abcd-12ab-34cd-56ef-1234567890ab", Account: "111122223333", Region: "us-east-1", State: st}
			arn := k.ARN()
			var wantCode, wantMsg string
			switch cols[i] {
			case "D":
				wantCode, wantMsg = CodeDisabled, arn+" is disabled."
			case "S":
				wantCode, wantMsg = CodeInvalidState, arn+" is "+words[st]+"."
			case "N":
				wantCode, wantMsg = CodeInvalidState, arn+" is not pending deletion."
			}
			err := Allow(k, op)
			var se *StateError
			switch {
			case wantCode == "" && err != nil:
				t.Errorf("Allow(%s, %s) = %v, want allowed", st, op, err)
			case wantCode != "" && (!errors.As(err, &se) || se.Code != wantCode || se.Message != wantMsg):
				t.Errorf("Allow(%s, %s) = %v, want %s: %s", st, op, err, wantCode, wantMsg)
			}
		}
	}
}

func TestAllowUnknown(t *testing.T) {
	k := &Key{ID: "k", Account: "111122223333", Region: "us-east-1", State: Enabled}
	if err := Allow(k, "NoSuchOperation"); err == nil {
		t.Error("Allow(NoSuchOperation) = nil, want a refusal")
	}
	k.State = "Creating"
	if err := Allow(k, "Encrypt"); err == nil || !strings.Contains(err.Error(), "is Creating.") {
		t.Errorf("Allow(Creating, Encrypt) = %v", err)
	}
}

func TestTransitions(t *testing.T) {
	cases := []struct {
		from, to State
		ok       bool
	}{
		{Enabled, Disabled, true},
		{Disabled, Enabled, true},
		{Enabled, PendingDeletion, true},
		{Disabled, PendingDeletion, true},
		{PendingImport, PendingDeletion, true},
		{PendingDeletion, Disabled, true},
		{PendingDeletion, PendingImport, true},
		{PendingDeletion, Enabled, false}, // CancelKeyDeletion leaves a key disabled
		{PendingImport, Enabled, true},
		{PendingImport, Disabled, false},
		{Enabled, PendingImport, true},
		{Disabled, PendingImport, true},
		{Enabled, Enabled, true},
		{Unavailable, Enabled, false},
	}
	for _, c := range cases {
		if got := CanTransition(c.from, c.to); got != c.ok {
			t.Errorf("CanTransition(%s, %s) = %v, want %v", c.from, c.to, got, c.ok)
		}
	}
	k := &Key{ID: "k", State: PendingDeletion}
	if err := k.SetState(Enabled); err == nil || k.State != PendingDeletion {
		t.Errorf("SetState(PendingDeletion -> Enabled) = %v, state %s", err, k.State)
	}
}

func TestCurrentSkipsPending(t *testing.T) {
	w := []byte{1}
	k := &Key{Versions: []Version{{ID: 1, Wrapped: w}, {ID: 2, Wrapped: w}, {ID: 3, Pending: true}}}
	if c := k.Current(); c == nil || c.ID != 2 {
		t.Fatalf("Current() = %+v, want version 2", c)
	}
	if (&Key{}).Current() != nil || (&Key{Versions: []Version{{ID: 1, Pending: true}}}).Current() != nil {
		t.Error("Current() of a key without usable material is not nil")
	}
	if k.MissingMaterial() {
		t.Error("MissingMaterial() = true for a key whose pending material is missing only")
	}
	k.Versions[0].Wrapped = nil
	if !k.MissingMaterial() {
		t.Error("MissingMaterial() = false with version 1 deleted")
	}
	if !slices.IsSorted(Operations()) {
		t.Error("Operations() not sorted")
	}
}
