package policy

// MarshalJSON writes the policy back as compact JSON: the elements it was
// parsed from, in a fixed order (Version, Id, Statement; Sid, Effect,
// Principal, Action, Resource, Condition), each value with the JSON type and
// the string-or-array form it was written with. Parse(MarshalJSON()) yields
// an equivalent policy. A service that must return a key policy exactly as
// it was set (GetKeyPolicy) stores the original bytes instead.
func (p *Policy) MarshalJSON() ([]byte, error) {
	l1 := p.kind == KeyPolicy
	b := make([]byte, 0, 512)
	b = append(b, '{')
	comma := false
	if p.hasVersion {
		b = append(b, `"Version":`...)
		b = appendString(b, p.version, l1)
		comma = true
	}
	if p.hasID {
		if comma {
			b = append(b, ',')
		}
		b = append(b, `"Id":`...)
		b = appendString(b, p.id, l1)
		comma = true
	}
	if comma {
		b = append(b, ',')
	}
	b = append(b, `"Statement":`...)
	if p.stmtArray {
		b = append(b, '[')
	}
	for i := range p.stmts {
		if i > 0 {
			b = append(b, ',')
		}
		b = p.stmts[i].appendJSON(b, l1)
	}
	if p.stmtArray {
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

func (s *statement) appendJSON(b []byte, l1 bool) []byte {
	b = append(b, '{')
	if s.hasSid {
		b = append(b, `"Sid":`...)
		b = appendString(b, s.sid, l1)
		b = append(b, ',')
	}
	b = append(b, `"Effect":`...)
	if s.deny {
		b = append(b, `"Deny"`...)
	} else {
		b = append(b, `"Allow"`...)
	}
	if s.hasPrincipal {
		if s.notPrincipal {
			b = append(b, `,"NotPrincipal":`...)
		} else {
			b = append(b, `,"Principal":`...)
		}
		if s.principal.rawStar {
			b = append(b, `"*"`...)
		} else {
			b = append(b, '{')
			for i, e := range s.principal.entries {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendString(b, e.typ, l1)
				b = append(b, ':')
				b = appendList(b, e.list, l1)
			}
			b = append(b, '}')
		}
	}
	if s.hasAction {
		if s.notAction {
			b = append(b, `,"NotAction":`...)
		} else {
			b = append(b, `,"Action":`...)
		}
		b = appendList(b, s.actionRaw, l1)
	}
	if s.hasResource {
		if s.notResource {
			b = append(b, `,"NotResource":`...)
		} else {
			b = append(b, `,"Resource":`...)
		}
		b = appendList(b, s.resourceRaw, l1)
	}
	if s.conds != nil {
		b = append(b, `,"Condition":{`...)
		for i := 0; i < len(s.conds); {
			if i > 0 {
				b = append(b, ',')
			}
			op := s.conds[i].opName
			b = appendString(b, op, l1)
			b = append(b, ":{"...)
			start := i
			for j := start; j < len(s.conds) && s.conds[j].opName == op; j++ {
				c := &s.conds[j]
				if j > start {
					b = append(b, ',')
				}
				b = appendString(b, c.keyRaw, l1)
				b = append(b, ':')
				if c.rawArray {
					b = append(b, '[')
				}
				for k, v := range c.raw {
					if k > 0 {
						b = append(b, ',')
					}
					if v.kind == jStr {
						b = appendString(b, v.s, l1)
					} else {
						b = append(b, v.s...) // a number as written, or true/false
					}
				}
				if c.rawArray {
					b = append(b, ']')
				}
				i = j + 1
			}
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendList(b []byte, l strList, l1 bool) []byte {
	if !l.array {
		return appendString(b, l.vals[0], l1)
	}
	b = append(b, '[')
	for i, v := range l.vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, v, l1)
	}
	return append(b, ']')
}
