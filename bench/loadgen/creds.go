package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// loadCredentials reads one profile of an AWS shared-credentials file
// (INI: "[profile]" sections of "key = value" lines, '#' and ';' comments).
func loadCredentials(path, profile string) (credentials, error) {
	f, err := os.Open(path)
	if err != nil {
		return credentials{}, err
	}
	defer f.Close()
	var c credentials
	found, in := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' && line[len(line)-1] == ']' {
			in = strings.TrimSpace(line[1:len(line)-1]) == profile
			found = found || in
			continue
		}
		if !in {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "aws_access_key_id":
			c.AccessKeyID = strings.TrimSpace(v)
		case "aws_secret_access_key":
			c.SecretAccessKey = strings.TrimSpace(v)
		case "aws_session_token":
			c.SessionToken = strings.TrimSpace(v)
		}
	}
	if err := sc.Err(); err != nil {
		return credentials{}, fmt.Errorf("%s: %w", path, err)
	}
	if !found {
		return credentials{}, fmt.Errorf("%s: no profile [%s]", path, profile)
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return credentials{}, fmt.Errorf("%s: profile [%s] lacks aws_access_key_id or aws_secret_access_key", path, profile)
	}
	return c, nil
}
