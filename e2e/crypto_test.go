package e2e

import (
	"bytes"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

func TestEncryptDecrypt(t *testing.T) {
	e := start(t, "")
	k := must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata
	other := must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata
	ec := map[string]string{"dept": "it", "purpose": "test", "ünï": "cødé"}
	for _, n := range []int{1, 32, 4096} {
		pt := bytes.Repeat([]byte{byte(n)}, n)
		enc := must[*kms.EncryptOutput](t)(e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: pt, EncryptionContext: ec}))
		if *enc.KeyId != *k.Arn || enc.EncryptionAlgorithm != types.EncryptionAlgorithmSpecSymmetricDefault {
			t.Errorf("Encrypt: KeyId %s, alg %s", *enc.KeyId, enc.EncryptionAlgorithm)
		}
		if len(enc.CiphertextBlob) > 6144 {
			t.Errorf("ciphertext of %d bytes is %d bytes, over AWS's 6144", n, len(enc.CiphertextBlob))
		}
		dec := must[*kms.DecryptOutput](t)(e.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec}))
		if !bytes.Equal(dec.Plaintext, pt) || *dec.KeyId != *k.Arn || dec.EncryptionAlgorithm != types.EncryptionAlgorithmSpecSymmetricDefault {
			t.Errorf("Decrypt(%d bytes) = %d bytes, key %s", n, len(dec.Plaintext), *dec.KeyId)
		}
		// With the KeyId named in every accepted form.
		must[*kms.CreateAliasOutput](t)(e.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/n" + string(rune('a'+n%26))), TargetKeyId: k.KeyId}))
		for _, ref := range []string{*k.KeyId, *k.Arn, "alias/n" + string(rune('a'+n%26))} {
			if _, err := e.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec, KeyId: aws.String(ref)}); err != nil {
				t.Errorf("Decrypt with KeyId %s = %v", ref, err)
			}
		}
	}

	ct := must[*kms.EncryptOutput](t)(e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("secret"), EncryptionContext: ec})).CiphertextBlob
	ct2 := must[*kms.EncryptOutput](t)(e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("secret"), EncryptionContext: ec})).CiphertextBlob
	if bytes.Equal(ct, ct2) {
		t.Error("two encryptions of one plaintext are equal")
	}
	if bytes.Contains(ct, []byte("secret")) {
		t.Error("ciphertext contains the plaintext")
	}

	// Every failure of the ciphertext is one opaque InvalidCiphertextException.
	bad := map[string]*kms.DecryptInput{
		"no context":    {CiphertextBlob: ct},
		"wrong context": {CiphertextBlob: ct, EncryptionContext: map[string]string{"dept": "hr", "purpose": "test", "ünï": "cødé"}},
		"extra context": {CiphertextBlob: ct, EncryptionContext: map[string]string{"dept": "it", "purpose": "test", "ünï": "cødé", "x": "y"}},
		"truncated":     {CiphertextBlob: ct[:len(ct)-1], EncryptionContext: ec},
		"short":         {CiphertextBlob: ct[:10], EncryptionContext: ec},
		"garbage":       {CiphertextBlob: []byte("not a ciphertext at all, really"), EncryptionContext: ec},
	}
	for i := 0; i < len(ct); i += 7 {
		flipped := bytes.Clone(ct)
		flipped[i] ^= 0x01
		bad["flip byte "+string(rune('0'+i%10))+"@"+itoa(i)] = &kms.DecryptInput{CiphertextBlob: flipped, EncryptionContext: ec}
	}
	for name, in := range bad {
		_, err := e.kms.Decrypt(ctx, in)
		if err == nil {
			t.Errorf("Decrypt(%s) succeeded", name)
			continue
		}
		if code, msg := apiErr(t, err); code != "InvalidCiphertextException" || msg != "" {
			t.Errorf("Decrypt(%s) = %s: %q, want InvalidCiphertextException with no message", name, code, msg)
		}
	}
	_, err := e.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct, EncryptionContext: ec, KeyId: other.KeyId})
	wantErr(t, err, "IncorrectKeyException", "The key ID in the request does not identify a CMK that can perform this operation.")

	_, err = e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: make([]byte, 4097)})
	wantErr(t, err, "ValidationException", "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096")
	_, err = e.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: make([]byte, 6145)})
	wantErr(t, err, "ValidationException", "Member must have length less than or equal to 6144")
	_, err = e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x"), EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha256})
	wantErr(t, err, "InvalidKeyUsageException", "")
	_, err = e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x"), DryRun: aws.Bool(true)})
	wantErr(t, err, "DryRunOperationException", "The request would have succeeded, but the DryRun option is set.")
}

func TestReEncrypt(t *testing.T) {
	e := start(t, "")
	a := must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata
	b := must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata
	src := map[string]string{"v": "1"}
	dst := map[string]string{"v": "2"}
	ct := must[*kms.EncryptOutput](t)(e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: a.KeyId, Plaintext: []byte("move me"), EncryptionContext: src})).CiphertextBlob
	re := must[*kms.ReEncryptOutput](t)(e.kms.ReEncrypt(ctx, &kms.ReEncryptInput{
		CiphertextBlob: ct, SourceEncryptionContext: src, DestinationKeyId: b.KeyId, DestinationEncryptionContext: dst,
	}))
	if *re.SourceKeyId != *a.Arn || *re.KeyId != *b.Arn || re.SourceEncryptionAlgorithm != "SYMMETRIC_DEFAULT" || re.DestinationEncryptionAlgorithm != "SYMMETRIC_DEFAULT" {
		t.Errorf("ReEncrypt = source %s key %s algs %s/%s", *re.SourceKeyId, *re.KeyId, re.SourceEncryptionAlgorithm, re.DestinationEncryptionAlgorithm)
	}
	dec := must[*kms.DecryptOutput](t)(e.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: re.CiphertextBlob, EncryptionContext: dst}))
	if string(dec.Plaintext) != "move me" || *dec.KeyId != *b.Arn {
		t.Errorf("Decrypt(ReEncrypt) = %q under %s", dec.Plaintext, *dec.KeyId)
	}
	_, err := e.kms.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: ct, DestinationKeyId: b.KeyId})
	wantErr(t, err, "InvalidCiphertextException", "")
	_, err = e.kms.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: ct, SourceEncryptionContext: src, SourceKeyId: b.KeyId, DestinationKeyId: b.KeyId})
	wantErr(t, err, "IncorrectKeyException", "")
	must[*kms.DisableKeyOutput](t)(e.kms.DisableKey(ctx, &kms.DisableKeyInput{KeyId: b.KeyId}))
	_, err = e.kms.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: ct, SourceEncryptionContext: src, DestinationKeyId: b.KeyId})
	wantErr(t, err, "DisabledException", "is disabled.")
}

func TestGenerateDataKey(t *testing.T) {
	e := start(t, "")
	k := must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata
	ec := map[string]string{"file": "a.txt"}
	for _, c := range []struct {
		in   *kms.GenerateDataKeyInput
		want int
	}{
		{&kms.GenerateDataKeyInput{KeyId: k.KeyId, KeySpec: types.DataKeySpecAes256, EncryptionContext: ec}, 32},
		{&kms.GenerateDataKeyInput{KeyId: k.KeyId, KeySpec: types.DataKeySpecAes128, EncryptionContext: ec}, 16},
		{&kms.GenerateDataKeyInput{KeyId: k.KeyId, NumberOfBytes: aws.Int32(1), EncryptionContext: ec}, 1},
		{&kms.GenerateDataKeyInput{KeyId: k.KeyId, NumberOfBytes: aws.Int32(1024), EncryptionContext: ec}, 1024},
	} {
		out := must[*kms.GenerateDataKeyOutput](t)(e.kms.GenerateDataKey(ctx, c.in))
		if len(out.Plaintext) != c.want || *out.KeyId != *k.Arn {
			t.Errorf("GenerateDataKey: %d bytes under %s, want %d", len(out.Plaintext), *out.KeyId, c.want)
		}
		dec := must[*kms.DecryptOutput](t)(e.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: out.CiphertextBlob, EncryptionContext: ec}))
		if !bytes.Equal(dec.Plaintext, out.Plaintext) {
			t.Error("Decrypt(GenerateDataKey ciphertext) differs from its plaintext")
		}
	}
	wp := must[*kms.GenerateDataKeyWithoutPlaintextOutput](t)(e.kms.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: k.KeyId, KeySpec: types.DataKeySpecAes256}))
	if *wp.KeyId != *k.Arn {
		t.Errorf("GenerateDataKeyWithoutPlaintext KeyId = %s", *wp.KeyId)
	}
	dec := must[*kms.DecryptOutput](t)(e.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: wp.CiphertextBlob}))
	if len(dec.Plaintext) != 32 {
		t.Errorf("data key without plaintext decrypts to %d bytes", len(dec.Plaintext))
	}
	// The raw body carries no Plaintext member at all.
	_, body := e.raw("TrentService.GenerateDataKeyWithoutPlaintext", `{"KeyId":"`+*k.KeyId+`","KeySpec":"AES_256"}`, nil)
	if contains(body, "Plaintext") {
		t.Errorf("GenerateDataKeyWithoutPlaintext body has Plaintext: %s", body)
	}

	for name, in := range map[string]*kms.GenerateDataKeyInput{
		"neither": {KeyId: k.KeyId},
		"both":    {KeyId: k.KeyId, KeySpec: types.DataKeySpecAes256, NumberOfBytes: aws.Int32(32)},
	} {
		_, err := e.kms.GenerateDataKey(ctx, in)
		if err == nil {
			t.Errorf("GenerateDataKey(%s) succeeded", name)
			continue
		}
		wantErr(t, err, "ValidationException", "Please specify either number of bytes or key spec.")
	}
	_, err := e.kms.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: k.KeyId, NumberOfBytes: aws.Int32(1025)})
	wantErr(t, err, "ValidationException", "Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024")
}

func TestGenerateRandom(t *testing.T) {
	e := start(t, "")
	for _, n := range []int32{1, 32, 1024} {
		out := must[*kms.GenerateRandomOutput](t)(e.kms.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(n)}))
		if len(out.Plaintext) != int(n) {
			t.Errorf("GenerateRandom(%d) = %d bytes", n, len(out.Plaintext))
		}
	}
	a := must[*kms.GenerateRandomOutput](t)(e.kms.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(32)}))
	b := must[*kms.GenerateRandomOutput](t)(e.kms.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(32)}))
	if bytes.Equal(a.Plaintext, b.Plaintext) {
		t.Error("two GenerateRandom calls returned the same bytes")
	}
	_, err := e.kms.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(0)})
	wantErr(t, err, "ValidationException", "Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1")
	_, err = e.kms.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(1025)})
	wantErr(t, err, "ValidationException", "Member must have value less than or equal to 1024")
	_, err = e.kms.GenerateRandom(ctx, &kms.GenerateRandomInput{})
	wantErr(t, err, "ValidationException", "NumberOfBytes is required.")
}

func itoa(i int) string { return fmtInt(i) }
