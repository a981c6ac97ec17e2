package awsapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/keyward/keyward/internal/kms"
)

// decode reads an AWS JSON 1.1 request body into v. The decoder refuses
// duplicate member names and invalid UTF-8 (so that no two parsers can read
// one request differently), matches member names case-sensitively as AWS
// does, and ignores unknown members as AWS does. Blobs are standard base64.
func decode(body []byte, v any) error {
	if len(body) == 0 {
		body = []byte("{}")
	}
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		if errors.Is(err, jsontext.ErrDuplicateName) {
			return &kms.Error{Code: "SerializationException", Message: "Duplicate member name " + memberName(syn.JSONPointer) + " in request body."}
		}
		return &kms.Error{Code: "SerializationException", Message: "Malformed JSON request body."}
	}
	var sem *json.SemanticError
	if errors.As(err, &sem) {
		field := memberName(sem.JSONPointer)
		if sem.JSONKind != 0 && sem.GoType != nil {
			return &kms.Error{Code: "SerializationException", Message: "Unexpected " + kindName(sem.JSONKind) + " for member " + field + "."}
		}
		return &kms.Error{Code: "SerializationException", Message: "Invalid value for member " + field + "."}
	}
	return &kms.Error{Code: "SerializationException", Message: "Malformed JSON request body."}
}

func memberName(p jsontext.Pointer) string {
	s := string(p)
	if s == "" {
		return "''"
	}
	return "'" + strings.TrimPrefix(s, "/") + "'"
}

func kindName(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 'f', 't':
		return "boolean"
	case '"':
		return "string"
	case '0':
		return "number"
	case '{':
		return "object"
	case '[':
		return "array"
	}
	return "value"
}

// encode writes a response body.
func encode(v any) ([]byte, error) { return json.Marshal(v) }

// contentType is the media type of every AWS JSON 1.1 body, answers and
// errors alike.
const contentType = "application/x-amz-json-1.1"

// writeJSON answers 200 with resp as an AWS JSON 1.1 body. An error means
// nothing was written.
func writeJSON(w http.ResponseWriter, resp any) error {
	out, err := encode(resp)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	w.Write(out)
	return nil
}
