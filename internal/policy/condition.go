package policy

import (
	"bytes"
	"encoding/base64"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Condition operators
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).

type opClass uint8

const (
	opString opClass = iota + 1
	opNumeric
	opDate
	opBool
	opBinary
	opIP
	opARN
	opNull
)

type cmpKind uint8

const (
	cmpEq cmpKind = iota
	cmpLT
	cmpLE
	cmpGT
	cmpGE
)

type opDef struct {
	class opClass
	neg   bool    // a negated operator: ...NotEquals, ...NotLike, NotIpAddress
	fold  bool    // ...IgnoreCase
	wild  bool    // ...Like and the ARN operators accept * and ?
	cmp   cmpKind // numeric and date comparisons
	vars  bool    // policy variables are allowed in the values
}

// ops lists the base operators. Policy variables are allowed "in any
// condition that involves the string operators or the ARN operators" and,
// per the operators page, with Bool; not with Numeric, Date, Binary, IP
// address or Null.
var ops = map[string]opDef{
	"StringEquals":              {class: opString, vars: true},
	"StringNotEquals":           {class: opString, neg: true, vars: true},
	"StringEqualsIgnoreCase":    {class: opString, fold: true, vars: true},
	"StringNotEqualsIgnoreCase": {class: opString, neg: true, fold: true, vars: true},
	"StringLike":                {class: opString, wild: true, vars: true},
	"StringNotLike":             {class: opString, neg: true, wild: true, vars: true},
	"NumericEquals":             {class: opNumeric, cmp: cmpEq},
	"NumericNotEquals":          {class: opNumeric, cmp: cmpEq, neg: true},
	"NumericLessThan":           {class: opNumeric, cmp: cmpLT},
	"NumericLessThanEquals":     {class: opNumeric, cmp: cmpLE},
	"NumericGreaterThan":        {class: opNumeric, cmp: cmpGT},
	"NumericGreaterThanEquals":  {class: opNumeric, cmp: cmpGE},
	"DateEquals":                {class: opDate, cmp: cmpEq},
	"DateNotEquals":             {class: opDate, cmp: cmpEq, neg: true},
	"DateLessThan":              {class: opDate, cmp: cmpLT},
	"DateLessThanEquals":        {class: opDate, cmp: cmpLE},
	"DateGreaterThan":           {class: opDate, cmp: cmpGT},
	"DateGreaterThanEquals":     {class: opDate, cmp: cmpGE},
	"Bool":                      {class: opBool, fold: true, vars: true},
	"BinaryEquals":              {class: opBinary},
	"IpAddress":                 {class: opIP},
	"NotIpAddress":              {class: opIP, neg: true},
	// "The ArnEquals and ArnLike condition operators behave identically."
	"ArnEquals":    {class: opARN, wild: true, vars: true},
	"ArnLike":      {class: opARN, wild: true, vars: true},
	"ArnNotEquals": {class: opARN, neg: true, wild: true, vars: true},
	"ArnNotLike":   {class: opARN, neg: true, wild: true, vars: true},
	"Null":         {class: opNull},
}

type setQual uint8

const (
	setNone setQual = iota
	setAny          // ForAnyValue:
	setAll          // ForAllValues:
)

type rawVal struct {
	s    string
	kind jkind
}

// cond is one condition key under one operator.
type cond struct {
	opName   string // as written, for MarshalJSON
	def      opDef
	set      setQual
	ifExists bool
	key      string // lower-cased: "Condition key names are not case-sensitive"
	keyRaw   string
	raw      []rawVal
	rawArray bool

	strs  []pattern // opString, opBool
	arns  []arnPattern
	nums  []float64
	dates []int64 // Unix nanoseconds
	bins  [][]byte
	nets  []netip.Prefix
	nulls []bool
}

func (p *Policy) buildConditions(name string, v *jval) ([]cond, error) {
	if v.kind != jObj {
		return nil, malformedf("%s: Condition must be an object, not %s.", name, v.kind)
	}
	var out []cond
	for i, opName := range v.keys {
		block := v.vals[i]
		def, set, ifExists, ok := parseOperator(opName)
		if !ok {
			return nil, malformedf("%s: the condition operator %s is not supported.", name, quote(opName))
		}
		if block.kind != jObj {
			return nil, malformedf("%s: the %s condition must be an object of condition keys, not %s.", name, opName, block.kind)
		}
		if len(block.keys) == 0 {
			return nil, malformedf("%s: the %s condition has no condition key.", name, opName)
		}
		for j, key := range block.keys {
			c, err := p.buildCond(name, opName, def, set, ifExists, key, block.vals[j])
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}

func parseOperator(s string) (def opDef, set setQual, ifExists, ok bool) {
	switch {
	case strings.HasPrefix(s, "ForAnyValue:"):
		set, s = setAny, s[len("ForAnyValue:"):]
	case strings.HasPrefix(s, "ForAllValues:"):
		set, s = setAll, s[len("ForAllValues:"):]
	}
	// "You can add IfExists to the end of any condition operator name
	// except the Null condition."
	if base, found := strings.CutSuffix(s, "IfExists"); found && base != "Null" {
		s, ifExists = base, true
	}
	def, ok = ops[s]
	return def, set, ifExists, ok
}

func (p *Policy) buildCond(name, opName string, def opDef, set setQual, ifExists bool, key string, v *jval) (cond, error) {
	c := cond{opName: opName, def: def, set: set, ifExists: ifExists, key: strings.ToLower(key), keyRaw: key}
	if k := strings.IndexByte(key, ':'); k <= 0 || k == len(key)-1 {
		return c, malformedf("%s: the condition key %s must have a service prefix, such as \"aws:SourceIp\" or \"kms:CallerAccount\".", name, quote(key))
	}
	if p.kind == KeyPolicy && set == setAll {
		// AWS KMS refuses these outright
		// (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-encryption-context).
		switch {
		case strings.HasPrefix(c.key, "kms:encryptioncontext:"):
			return c, malformed("OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues set operator with a single-valued condition key matches requests without the specified encryption context or with an unspecified encryption context. To fix, remove ForAllValues.")
		case strings.HasPrefix(c.key, "aws:requesttag/"):
			return c, malformed("OverlyPermissiveCondition: Using the ForAllValues set operator with a single-valued condition key matches requests without the specified tag or with an unspecified tag. To fix, remove ForAllValues.")
		}
	}
	switch v.kind {
	case jStr, jNum, jBool:
		c.raw = []rawVal{{s: v.s, kind: v.kind}}
	case jArr:
		if len(v.arr) == 0 {
			return c, malformedf("%s: the condition key %s under %s has an empty array of values.", name, key, opName)
		}
		c.rawArray = true
		for _, e := range v.arr {
			if e.kind != jStr && e.kind != jNum && e.kind != jBool {
				return c, malformedf("%s: the values of the condition key %s under %s must be strings, numbers or Booleans; found %s.", name, key, opName, e.kind)
			}
			c.raw = append(c.raw, rawVal{s: e.s, kind: e.kind})
		}
	default:
		return c, malformedf("%s: the value of the condition key %s under %s must be a string, number, Boolean or an array of them, not %s.", name, key, opName, v.kind)
	}
	vars := def.vars && p.vars
	for _, rv := range c.raw {
		s := rv.s
		switch def.class {
		case opString:
			c.strs = append(c.strs, compilePattern(s, def.wild, vars))
		case opBool:
			pt := compilePattern(s, false, vars)
			if !pt.hasVr && !strings.EqualFold(s, "true") && !strings.EqualFold(s, "false") {
				return c, malformedf("%s: the Bool condition on %s needs \"true\" or \"false\", not %s.", name, key, quote(s))
			}
			c.strs = append(c.strs, pt)
		case opARN:
			varsFrom := 6
			if vars {
				varsFrom = 0
			}
			c.arns = append(c.arns, compileARN(s, varsFrom))
		case opNumeric:
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return c, malformedf("%s: the %s condition on %s needs a number, not %s.", name, opName, key, quote(s))
			}
			c.nums = append(c.nums, f)
		case opDate:
			t, ok := parseDate(s)
			if !ok {
				return c, malformedf("%s: the %s condition on %s needs an ISO 8601 date (such as \"2020-01-01T00:00:00Z\") or epoch seconds, not %s.", name, opName, key, quote(s))
			}
			c.dates = append(c.dates, t)
		case opBinary:
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return c, malformedf("%s: the BinaryEquals condition on %s needs a base64 value, not %s.", name, key, quote(s))
			}
			c.bins = append(c.bins, b)
		case opIP:
			pfx, ok := parseCIDR(s)
			if !ok {
				return c, malformedf("%s: the %s condition on %s needs an IP address or CIDR range (such as \"203.0.113.0/24\"), not %s.", name, opName, key, quote(s))
			}
			c.nets = append(c.nets, pfx)
		case opNull:
			switch strings.ToLower(s) {
			case "true":
				c.nulls = append(c.nulls, true)
			case "false":
				c.nulls = append(c.nulls, false)
			default:
				return c, malformedf("%s: the Null condition on %s needs true or false, not %s.", name, key, quote(s))
			}
		}
	}
	return c, nil
}

// parseCIDR accepts a CIDR range or a bare address: "If you specify an IP
// address without the associated routing prefix, IAM uses the default prefix
// value of /32" (/128 for IPv6).
func parseCIDR(s string) (netip.Prefix, bool) {
	if strings.IndexByte(s, '/') >= 0 {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// Date formats: "one of the W3C implementations of the ISO 8601 date
// formats or in epoch (UNIX) time" (https://www.w3.org/TR/NOTE-datetime).
var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02",
	"2006-01",
	"2006",
}

// parseDate returns s as Unix nanoseconds.
func parseDate(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	digits := true
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && !(i == 0 && s[i] == '-' && len(s) > 1) {
			digits = false
			break
		}
	}
	if digits && len(s) != 4 { // a bare "2006" is a year, not an epoch
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil || sec > 1<<33 || sec < -(1<<33) {
			return 0, false
		}
		return sec * int64(time.Second), true
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixNano(), true
		}
	}
	return 0, false
}

// valueSet is a condition key's values in the request, found without
// copying them.
type valueSet struct {
	mode   uint8 // vsMissing, vsList, vsOne, vsEC, vsECKeys
	list   []string
	one    string
	suffix string // vsEC: the encryption context key, compared without case
	ec     map[string]string
}

const (
	vsMissing uint8 = iota
	vsList
	vsOne
	vsEC     // the values of kms:EncryptionContext:<suffix>
	vsECKeys // the keys of the encryption context
)

func (v *valueSet) present() bool {
	switch v.mode {
	case vsList, vsOne, vsECKeys:
		return true
	case vsEC:
		for k := range v.ec {
			if strings.EqualFold(k, v.suffix) {
				return true
			}
		}
	}
	return false
}

// single returns the only value of v, for a policy variable: "you cannot use
// a multivalued context key as a policy variable".
func (v *valueSet) single() (string, bool) {
	switch v.mode {
	case vsOne:
		return v.one, true
	case vsList:
		if len(v.list) == 1 {
			return v.list[0], true
		}
	case vsEC:
		n, val := 0, ""
		for k, x := range v.ec {
			if strings.EqualFold(k, v.suffix) {
				n, val = n+1, x
			}
		}
		return val, n == 1
	case vsECKeys:
		if len(v.ec) == 1 {
			for k := range v.ec {
				return k, true
			}
		}
	}
	return "", false
}

// anyOf reports whether f holds for some value.
func (v *valueSet) anyOf(f func(string) bool) bool {
	switch v.mode {
	case vsOne:
		return f(v.one)
	case vsList:
		for _, s := range v.list {
			if f(s) {
				return true
			}
		}
	case vsEC:
		for k, s := range v.ec {
			if strings.EqualFold(k, v.suffix) && f(s) {
				return true
			}
		}
	case vsECKeys:
		for k := range v.ec {
			if f(k) {
				return true
			}
		}
	}
	return false
}

// allOf reports whether f holds for every value.
func (v *valueSet) allOf(f func(string) bool) bool {
	switch v.mode {
	case vsOne:
		return f(v.one)
	case vsList:
		for _, s := range v.list {
			if !f(s) {
				return false
			}
		}
	case vsEC:
		for k, s := range v.ec {
			if strings.EqualFold(k, v.suffix) && !f(s) {
				return false
			}
		}
	case vsECKeys:
		for k := range v.ec {
			if !f(k) {
				return false
			}
		}
	}
	return true
}

// eval evaluates the condition against r.
//
// Semantics, from the IAM User Guide:
//   - A missing key makes a condition false, and a negated one true; IfExists
//     makes it true; Null tests presence
//     (reference_policies_elements_condition_operators.html).
//   - The values of one key are ORed; for a negated operator they are NORed
//     (reference_policies_multi-value-conditions.html).
//   - ForAnyValue is true when some request value matches, ForAllValues when
//     every request value matches; with no request values ForAllValues is
//     true and ForAnyValue false
//     (reference_policies_multi-value-conditions.html).
//
// Not documented, and chosen here: without a set qualifier, a key with
// several request values matches when any of them matches (a negated
// operator when none does), so that a negated operator is always the
// negation of its positive form.
func (c *cond) eval(r *Request) bool {
	vs := r.lookup(c.key)
	if c.def.class == opNull {
		isNull := !vs.present()
		for _, want := range c.nulls {
			if want == isNull {
				return true
			}
		}
		return false
	}
	if !vs.present() {
		if c.ifExists {
			return true
		}
		switch c.set {
		case setAll:
			return true
		case setAny:
			return false
		}
		return c.def.neg
	}
	switch c.set {
	case setAny:
		return vs.anyOf(func(s string) bool { return c.matchAny(s, r) != c.def.neg })
	case setAll:
		return vs.allOf(func(s string) bool { return c.matchAny(s, r) != c.def.neg })
	}
	return vs.anyOf(func(s string) bool { return c.matchAny(s, r) }) != c.def.neg
}

// matchAny reports whether the request value s matches any policy value
// under the operator's positive form.
func (c *cond) matchAny(s string, r *Request) bool {
	switch c.def.class {
	case opString, opBool:
		for i := range c.strs {
			if c.strs[i].match(s, c.def.fold, r) {
				return true
			}
		}
	case opARN:
		for i := range c.arns {
			if c.arns[i].match(s, r) {
				return true
			}
		}
	case opNumeric:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return false
		}
		for _, n := range c.nums {
			if compare(f, n, c.def.cmp) {
				return true
			}
		}
	case opDate:
		t, ok := parseDate(s)
		if !ok {
			return false
		}
		for _, d := range c.dates {
			if compare(t, d, c.def.cmp) {
				return true
			}
		}
	case opBinary:
		for _, b := range c.bins {
			if bytes.Equal([]byte(s), b) {
				return true
			}
		}
	case opIP:
		a, err := netip.ParseAddr(s)
		if err != nil {
			return false
		}
		a = a.Unmap()
		for _, n := range c.nets {
			if n.Contains(a) {
				return true
			}
		}
	}
	return false
}

// compare reports whether the request value x stands in relation k to the
// policy value y ("x < y" for NumericLessThan).
func compare[T int64 | float64](x, y T, k cmpKind) bool {
	switch k {
	case cmpEq:
		return x == y
	case cmpLT:
		return x < y
	case cmpLE:
		return x <= y
	case cmpGT:
		return x > y
	case cmpGE:
		return x >= y
	}
	return false
}
