package awsapi

// CloudTrail's LookupEvents on the KMS endpoint, answered from the audit
// trail: AWS JSON 1.1, X-Amz-Target
// com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents (the
// AWS CLI) or CloudTrail_20131101.LookupEvents (aws-sdk-go-v2), signed for
// SigV4 service "cloudtrail". Callers see the events of their own account.

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/keyward/keyward/internal/arn"
	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/iam"
	"github.com/keyward/keyward/internal/kms"
	"github.com/keyward/keyward/internal/policy"
)

const (
	cloudTrailTarget      = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
	cloudTrailShortTarget = "CloudTrail_20131101."
	lookupTimeout         = 30 * time.Second
)

// cloudTrailOp returns the operation of a CloudTrail X-Amz-Target.
func cloudTrailOp(target string) (string, bool) {
	if op, ok := strings.CutPrefix(target, cloudTrailTarget); ok {
		return op, true
	}
	return strings.CutPrefix(target, cloudTrailShortTarget)
}

// CloudTrail's error types for LookupEvents.
const (
	codeInvalidLookupAttributes = "InvalidLookupAttributesException"
	codeInvalidTimeRange        = "InvalidTimeRangeException"
	codeInvalidMaxResults       = "InvalidMaxResultsException"
	codeInvalidNextToken        = "InvalidNextTokenException"
	codeInvalidEventCategory    = "InvalidEventCategoryException"
)

// cloudTrailOperations is every operation of the CloudTrail API
// (2013-11-01). Keyward answers LookupEvents over its own audit trail; the
// others, which manage trails, event data stores and the like, answer
// UnsupportedOperationException (CloudTrail has that error too), and a
// name not on the list is unknown.
var cloudTrailOperations = map[string]bool{
	"AddTags": true, "CancelQuery": true, "CreateChannel": true, "CreateDashboard": true,
	"CreateEventDataStore": true, "CreateTrail": true, "DeleteChannel": true, "DeleteDashboard": true,
	"DeleteEventDataStore": true, "DeleteResourcePolicy": true, "DeleteTrail": true,
	"DeregisterOrganizationDelegatedAdmin": true, "DescribeQuery": true, "DescribeTrails": true,
	"DisableFederation": true, "EnableFederation": true, "GenerateQuery": true, "GetChannel": true,
	"GetDashboard": true, "GetEventConfiguration": true, "GetEventDataStore": true, "GetEventSelectors": true,
	"GetImport": true, "GetInsightSelectors": true, "GetQueryResults": true, "GetResourcePolicy": true,
	"GetTrail": true, "GetTrailStatus": true, "ListChannels": true, "ListDashboards": true,
	"ListEventDataStores": true, "ListImportFailures": true, "ListImports": true, "ListInsightsData": true,
	"ListInsightsMetricData": true, "ListPublicKeys": true, "ListQueries": true, "ListTags": true,
	"ListTrails": true, "LookupEvents": true, "PutEventConfiguration": true, "PutEventSelectors": true,
	"PutInsightSelectors": true, "PutResourcePolicy": true, "RegisterOrganizationDelegatedAdmin": true,
	"RemoveTags": true, "RestoreEventDataStore": true, "SearchSampleQueries": true,
	"StartDashboardRefresh": true, "StartEventDataStoreIngestion": true, "StartImport": true,
	"StartLogging": true, "StartQuery": true, "StopEventDataStoreIngestion": true, "StopImport": true,
	"StopLogging": true, "UpdateChannel": true, "UpdateDashboard": true, "UpdateEventDataStore": true,
	"UpdateTrail": true,
}

// serveCloudTrail handles one CloudTrail request and reports what it answered.
func (h *Handler) serveCloudTrail(w http.ResponseWriter, r *http.Request, reqID, opName string) (string, int, string) {
	noteSource(w, sourceCloudTrail)
	fail := func(err error) (string, int, string) {
		st, c := h.writeError(w, r, reqID, opName, err)
		return opName, st, c
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return fail(&kms.Error{Code: "UnknownOperationException"})
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, smallBody))
	if err != nil {
		return fail(&kms.Error{Code: "SerializationException", Message: fmt.Sprintf("Request body exceeds the limit of %d bytes.", smallBody)})
	}
	caller, err := h.authenticate(r, body, "cloudtrail")
	if err != nil {
		return fail(err)
	}
	noteCaller(w, caller)
	switch {
	case !cloudTrailOperations[opName]:
		return fail(&kms.Error{Code: "UnknownOperationException"})
	case opName != "LookupEvents":
		return fail(&kms.Error{Code: kms.CodeUnsupportedOperation, Message: "Operation " + opName + " is not supported by this server: of the CloudTrail API it answers LookupEvents only."})
	}
	if err := authorizeIdentity(caller, "cloudtrail:LookupEvents", h.aud.region); err != nil {
		return fail(err)
	}
	var req lookupEventsRequest
	if err := decode(body, &req); err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithTimeout(r.Context(), lookupTimeout)
	defer cancel()
	resp, err := h.lookupEvents(ctx, caller, &req)
	if err != nil {
		return fail(err)
	}
	if err := writeJSON(w, resp); err != nil {
		return fail(err)
	}
	return opName, http.StatusOK, ""
}

// authorizeIdentity decides an action on no particular resource by the
// caller's identity policies, as AWS does for CloudTrail: the account root
// may; anyone else needs an Allow and no Deny.
func authorizeIdentity(c *kms.Caller, action, region string) error {
	if c.Type == iam.TypeRoot || (c.Type == "" && arn.IsAccountRoot(c.ARN, c.Account)) {
		return nil
	}
	r := &policy.Request{
		Principal: policy.Principal{ARN: c.ARN, Account: c.Account, RoleARN: c.RoleARN, UserName: c.UserName, UserID: c.UserID, Tags: c.Tags},
		Action:    action,
		Resource:  "*",
	}
	now := time.Now().UTC()
	r.Set("aws:CurrentTime", now.Format(time.RFC3339))
	r.Set("aws:EpochTime", strconv.FormatInt(now.Unix(), 10))
	r.Set("aws:RequestedRegion", region)
	r.Set("aws:SecureTransport", strconv.FormatBool(c.SecureTransport))
	if c.SourceIP != "" {
		r.Set("aws:SourceIp", c.SourceIP)
	}
	allowed := false
	for _, p := range c.Policies {
		switch eff, _ := p.Evaluate(r); eff {
		case policy.Deny:
			return &kms.Error{Code: kms.CodeAccessDenied, Message: "User: " + c.ARN + " is not authorized to perform: " + action + " with an explicit deny in an identity-based policy"}
		case policy.Allow:
			allowed = true
		}
	}
	if !allowed {
		return &kms.Error{Code: kms.CodeAccessDenied, Message: "User: " + c.ARN + " is not authorized to perform: " + action + " because no identity-based policy allows the " + action + " action"}
	}
	return nil
}

// lookupEventsRequest is LookupEvents' input.
type lookupEventsRequest struct {
	LookupAttributes []lookupAttribute `json:"LookupAttributes"`
	StartTime        *kms.Timestamp    `json:"StartTime"`
	EndTime          *kms.Timestamp    `json:"EndTime"`
	EventCategory    *string           `json:"EventCategory"`
	MaxResults       *int32            `json:"MaxResults"`
	NextToken        *string           `json:"NextToken"`
}

type lookupAttribute struct {
	AttributeKey   *string `json:"AttributeKey"`
	AttributeValue *string `json:"AttributeValue"`
}

// lookupEventsResponse is LookupEvents' output.
type lookupEventsResponse struct {
	Events    []trailEvent `json:"Events"`
	NextToken string       `json:"NextToken,omitempty"`
}

type trailEvent struct {
	EventId         string          `json:"EventId"`
	EventName       string          `json:"EventName"`
	ReadOnly        string          `json:"ReadOnly"`
	AccessKeyId     string          `json:"AccessKeyId,omitempty"`
	EventTime       kms.Timestamp   `json:"EventTime"`
	EventSource     string          `json:"EventSource"`
	Username        string          `json:"Username,omitempty"`
	Resources       []trailResource `json:"Resources"`
	CloudTrailEvent string          `json:"CloudTrailEvent"`
}

type trailResource struct {
	ResourceType string `json:"ResourceType,omitempty"`
	ResourceName string `json:"ResourceName,omitempty"`
}

const maxLookupResults = 50

// lookupEvents pages through the caller account's events, newest first.
//
// The trail is read oldest first, so a page is the newest MaxResults
// matching events that come before the cursor: the scan keeps the last
// MaxResults+1 matches in a ring and stops at the cursor event. The token
// names the oldest event returned and binds the query's parameters.
func (h *Handler) lookupEvents(ctx context.Context, caller *kms.Caller, req *lookupEventsRequest) (*lookupEventsResponse, error) {
	var f audit.Filter
	var username, resourceName string
	if len(req.LookupAttributes) > 1 {
		return nil, &kms.Error{Code: codeInvalidLookupAttributes, Message: "You can only specify one lookup attribute."}
	}
	for _, a := range req.LookupAttributes {
		if a.AttributeKey == nil || a.AttributeValue == nil || *a.AttributeValue == "" {
			return nil, &kms.Error{Code: codeInvalidLookupAttributes, Message: "A lookup attribute must have an AttributeKey and a non-empty AttributeValue."}
		}
		v := *a.AttributeValue
		if len(v) > 2000 {
			return nil, &kms.Error{Code: codeInvalidLookupAttributes, Message: "AttributeValue must be at most 2000 characters long."}
		}
		switch *a.AttributeKey {
		case "EventId":
			f.EventID = v
		case "EventName":
			f.EventName = v
		case "ReadOnly":
			b, err := strconv.ParseBool(v)
			if err != nil || (v != "true" && v != "false") {
				return nil, &kms.Error{Code: codeInvalidLookupAttributes, Message: "The value of the ReadOnly attribute must be true or false."}
			}
			f.ReadOnly = &b
		case "Username":
			username = v
		case "ResourceType":
			f.ResourceType = v
		case "ResourceName":
			resourceName = v
		case "EventSource":
			f.EventSource = v
		case "AccessKeyId":
			f.AccessKeyID = v
		default:
			return nil, &kms.Error{Code: codeInvalidLookupAttributes, Message: "Invalid attribute key: " + *a.AttributeKey + ". Valid keys are EventId, EventName, ReadOnly, Username, ResourceType, ResourceName, EventSource and AccessKeyId."}
		}
	}
	if req.StartTime != nil {
		f.Start = time.Time(*req.StartTime)
	}
	if req.EndTime != nil {
		f.End = time.Time(*req.EndTime)
	}
	if !f.Start.IsZero() && !f.End.IsZero() && f.Start.After(f.End) {
		return nil, &kms.Error{Code: codeInvalidTimeRange, Message: "Start time must be before end time."}
	}
	limit := maxLookupResults
	if req.MaxResults != nil {
		if *req.MaxResults < 1 || *req.MaxResults > maxLookupResults {
			return nil, &kms.Error{Code: codeInvalidMaxResults, Message: "MaxResults must be between 1 and 50."}
		}
		limit = int(*req.MaxResults)
	}
	if req.EventCategory != nil {
		if *req.EventCategory != "insight" {
			return nil, &kms.Error{Code: codeInvalidEventCategory, Message: "The only event category is insight."}
		}
		return &lookupEventsResponse{Events: []trailEvent{}}, nil // no Insights events
	}
	qhash := lookupHash(req)
	var before uint64
	if req.NextToken != nil {
		var ok bool
		if before, ok = parseLookupToken(*req.NextToken, qhash); !ok {
			return nil, &kms.Error{Code: codeInvalidNextToken, Message: "Invalid NextToken. The token must be passed with the same parameters as the call that returned it."}
		}
	}

	// Newest first, reading the trail from its end: a page costs about the
	// same however long the trail is.
	var got []*audit.Event
	var last uint64
	var cerr error
	err := audit.QueryBackward(h.aud.dir, f, before, func(seq uint64, e *audit.Event) bool {
		if cerr = ctx.Err(); cerr != nil {
			return false
		}
		if e.RecipientAccountID != caller.Account ||
			(username != "" && trailUsername(e) != username) ||
			(resourceName != "" && !hasResource(e, resourceName)) {
			return true
		}
		if len(got) == limit {
			got = append(got, e) // one more than a page: there is a next page
			return false
		}
		got, last = append(got, e), seq
		return true
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	resp := &lookupEventsResponse{Events: []trailEvent{}}
	for _, e := range got[:min(len(got), limit)] {
		te, err := toTrailEvent(e)
		if err != nil {
			return nil, err
		}
		resp.Events = append(resp.Events, te)
	}
	if len(got) > limit {
		resp.NextToken = lookupToken(qhash, last)
	}
	return resp, nil
}

func toTrailEvent(e *audit.Event) (trailEvent, error) {
	raw, err := json.Marshal(e)
	if err != nil {
		return trailEvent{}, err
	}
	te := trailEvent{
		EventId:         e.EventID,
		EventName:       e.EventName,
		ReadOnly:        strconv.FormatBool(e.ReadOnly),
		AccessKeyId:     e.UserIdentity.AccessKeyID,
		EventTime:       kms.Timestamp(e.EventTime),
		EventSource:     e.EventSource,
		Username:        trailUsername(e),
		Resources:       []trailResource{},
		CloudTrailEvent: string(raw),
	}
	for _, r := range e.Resources {
		te.Resources = append(te.Resources, trailResource{ResourceType: r.Type, ResourceName: r.ARN})
	}
	return te, nil
}

// trailUsername is the "User name" of CloudTrail's event history: "root"
// for the account root, the user name of an IAM user, the session name of
// an assumed role.
func trailUsername(e *audit.Event) string {
	u := &e.UserIdentity
	switch u.Type {
	case iam.TypeRoot:
		return "root"
	case iam.TypeUser:
		return u.UserName
	case iam.TypeAssumedRole:
		return u.ARN[strings.LastIndexByte(u.ARN, '/')+1:]
	}
	return u.UserName
}

// hasResource reports whether e names the resource: its ARN, or for a key
// its key id.
func hasResource(e *audit.Event, name string) bool {
	for _, r := range e.Resources {
		if r.ARN == name || strings.HasSuffix(r.ARN, ":key/"+name) {
			return true
		}
	}
	return false
}

// lookupHash binds a NextToken to the parameters of the query that made it.
func lookupHash(req *lookupEventsRequest) string {
	h := sha256.New()
	for _, a := range req.LookupAttributes {
		fmt.Fprintf(h, "%q=%q;", deref(a.AttributeKey), deref(a.AttributeValue))
	}
	if req.StartTime != nil {
		fmt.Fprintf(h, "start=%d;", time.Time(*req.StartTime).UnixMilli())
	}
	if req.EndTime != nil {
		fmt.Fprintf(h, "end=%d;", time.Time(*req.EndTime).UnixMilli())
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// lookupToken makes the NextToken of a page whose last event has sequence
// number seq: the next page holds the events logged before it.
func lookupToken(qhash string, seq uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("v2:" + qhash + ":" + strconv.FormatUint(seq, 10)))
}

func parseLookupToken(tok, qhash string) (before uint64, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	rest, ok := strings.CutPrefix(string(b), "v2:"+qhash+":")
	if !ok {
		return 0, false
	}
	before, err = strconv.ParseUint(rest, 10, 64)
	return before, err == nil && before > 0
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// lookupEventsParameters is the requestParameters of a LookupEvents
// record, in CloudTrail's names.
func lookupEventsParameters(body []byte) json.RawMessage {
	var req lookupEventsRequest
	if jsonv2.Unmarshal(body, &req) != nil {
		return nil
	}
	type attr struct {
		AttributeKey   string `json:"attributeKey"`
		AttributeValue string `json:"attributeValue"`
	}
	var p struct {
		LookupAttributes []attr `json:"lookupAttributes,omitempty"`
		StartTime        string `json:"startTime,omitempty"`
		EndTime          string `json:"endTime,omitempty"`
		EventCategory    string `json:"eventCategory,omitempty"`
		MaxResults       *int32 `json:"maxResults,omitempty"`
		NextToken        string `json:"nextToken,omitempty"`
	}
	for _, a := range req.LookupAttributes {
		p.LookupAttributes = append(p.LookupAttributes, attr{truncate(deref(a.AttributeKey), 256), truncate(deref(a.AttributeValue), 2048)})
	}
	if req.StartTime != nil {
		p.StartTime = time.Time(*req.StartTime).UTC().Format(time.RFC3339)
	}
	if req.EndTime != nil {
		p.EndTime = time.Time(*req.EndTime).UTC().Format(time.RFC3339)
	}
	p.EventCategory = truncate(deref(req.EventCategory), 64)
	p.MaxResults = req.MaxResults
	p.NextToken = truncate(deref(req.NextToken), 512)
	out, err := json.Marshal(p)
	if err != nil || string(out) == "{}" {
		return nil
	}
	return out
}
