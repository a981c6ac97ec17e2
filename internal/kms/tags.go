package kms

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/store"
)

// tags validates the members of a Tags list.
func (v *validator) tags(tags []Tag) {
	for i := range tags {
		v.str(fmt.Sprintf("tags.%d.member.tagKey", i+1), &tags[i].TagKey, 1, 128, nil)
		v.str(fmt.Sprintf("tags.%d.member.tagValue", i+1), &tags[i].TagValue, 0, 256, nil)
	}
}

// checkTags applies AWS's tag rules to adding tags to a key that has
// existing: no reserved "aws:" keys, no duplicate keys in one request, and at
// most 50 tags on a key after the change.
func checkTags(add []Tag, existing []keys.Tag) error {
	seen := map[string]bool{}
	for _, t := range add {
		if strings.HasPrefix(strings.ToLower(t.TagKey), "aws:") {
			return errf(CodeTag, "Tags beginning with aws: are reserved")
		}
		if seen[t.TagKey] {
			return errf(CodeTag, "Duplicate tag keys")
		}
		seen[t.TagKey] = true
	}
	n := len(add)
	for _, t := range existing {
		if !seen[t.Key] {
			n++
		}
	}
	if n > maxTags {
		return errf(CodeTag, "Too many tags")
	}
	return nil
}

// TagResource adds or overwrites tags on a key.
func (s *Service) TagResource(ctx context.Context, caller *Caller, req *TagResourceRequest) (*Empty, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	v.required("tags", req.Tags != nil)
	v.tags(req.Tags)
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.resolve(ctx, caller, "TagResource", *req.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(caller, "TagResource", e, tagAuthz(req.Tags, nil)); err != nil {
		return nil, err
	}
	if e.key.State == keys.PendingDeletion {
		return nil, errf(CodeInvalidState, "%s is pending deletion.", e.key.ARN())
	}
	_, err = s.updateKey(ctx, e.key.ID, func(_ store.Tx, k *keys.Key) error {
		if err := checkTags(req.Tags, k.Tags); err != nil {
			return err
		}
		for _, t := range req.Tags {
			i := slices.IndexFunc(k.Tags, func(x keys.Tag) bool { return x.Key == t.TagKey })
			if i >= 0 {
				k.Tags[i].Value = t.TagValue
			} else {
				k.Tags = append(k.Tags, keys.Tag{Key: t.TagKey, Value: t.TagValue})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Empty{}, nil
}

// UntagResource removes tags from a key; absent tag keys are ignored, as in AWS.
func (s *Service) UntagResource(ctx context.Context, caller *Caller, req *UntagResourceRequest) (*Empty, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	v.required("tagKeys", req.TagKeys != nil)
	for i := range req.TagKeys {
		v.str(fmt.Sprintf("tagKeys.%d.member", i+1), &req.TagKeys[i], 1, 128, nil)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.resolve(ctx, caller, "UntagResource", *req.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(caller, "UntagResource", e, tagAuthz(nil, req.TagKeys)); err != nil {
		return nil, err
	}
	if e.key.State == keys.PendingDeletion {
		return nil, errf(CodeInvalidState, "%s is pending deletion.", e.key.ARN())
	}
	_, err = s.updateKey(ctx, e.key.ID, func(_ store.Tx, k *keys.Key) error {
		k.Tags = slices.DeleteFunc(k.Tags, func(t keys.Tag) bool { return slices.Contains(req.TagKeys, t.Key) })
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Empty{}, nil
}

// ListResourceTags lists a key's tags, sorted by tag key, with paging.
func (s *Service) ListResourceTags(ctx context.Context, caller *Caller, req *ListResourceTagsRequest) (*ListResourceTagsResponse, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	v.paging(req.Limit, req.Marker, 50)
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.resolve(ctx, caller, "ListResourceTags", *req.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(caller, "ListResourceTags", e, nil); err != nil {
		return nil, err
	}
	after, err := decodeMarker(req.Marker)
	if err != nil {
		return nil, err
	}
	tags := slices.Clone(e.key.Tags)
	slices.SortFunc(tags, func(a, b keys.Tag) int { return strings.Compare(a.Key, b.Key) })
	limit := limitOr(req.Limit, 50)
	out := &ListResourceTagsResponse{Tags: []Tag{}}
	for _, t := range tags {
		if after != "" && t.Key <= after {
			continue
		}
		if len(out.Tags) == limit {
			out.Truncated = true
			out.NextMarker = encodeMarker(out.Tags[len(out.Tags)-1].TagKey)
			break
		}
		out.Tags = append(out.Tags, Tag{TagKey: t.Key, TagValue: t.Value})
	}
	return out, nil
}
