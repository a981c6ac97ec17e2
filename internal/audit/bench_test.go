package audit

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"
)

// BenchmarkAppend measures group commit: many goroutines appending at once,
// with fsync and without. records/s is the log's throughput, fsyncs/record
// how many records share one fsync.
func BenchmarkAppend(b *testing.B) {
	for _, mode := range []struct {
		name string
		skip bool
	}{{"fsync", false}, {"InsecureSkipFsync", true}} {
		for _, par := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("%s/appenders=%d", mode.name, par*runtime.GOMAXPROCS(0)), func(b *testing.B) {
				l := openLog(b, b.TempDir(), Options{InsecureSkipFsync: mode.skip})
				ev := encryptEvent("bench")
				b.ReportAllocs()
				b.SetParallelism(par)
				cpu := cpuTime()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := l.Append(context.Background(), ev); err != nil {
							b.Error(err)
							return
						}
					}
				})
				reportCPU(b, cpu)
				reportLog(b, l)
				if err := l.Close(); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}

// reportCPU reports the CPU time used per operation since start, in
// microseconds: unlike ns/op it does not grow when other processes compete
// for the cores.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
}

func reportLog(b *testing.B, l *Log) {
	st := l.Stats()
	b.ReportMetric(float64(st.Records)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(st.Fsyncs)/float64(max(st.Records, 1)), "fsyncs/record")
	b.ReportMetric(float64(st.Records)/float64(max(st.Batches, 1)), "records/batch")
}

// BenchmarkEncrypt approximates the server's Encrypt path without HTTP:
// build the request parameters, seal 256 bytes with AES-256-GCM and, with
// audit on, append the event. The ratio of "on" to "off" bounds the cost
// of durable auditing; the real server spends more per request on HTTP and
// SigV4, so its ratio is closer to 1.
func BenchmarkEncrypt(b *testing.B) {
	key := make([]byte, 32)
	rand.Read(key)
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	body, _ := json.Marshal(map[string]any{
		"KeyId": testKeyARN, "Plaintext": base64.StdEncoding.EncodeToString(make([]byte, 256)),
		"EncryptionContext": map[string]string{"Department": "Engineering"},
	})
	for _, mode := range []string{"audit=off", "audit=on", "audit=on,InsecureSkipFsync"} {
		b.Run(mode, func(b *testing.B) {
			var l *Log
			if mode != "audit=off" {
				l = openLog(b, b.TempDir(), Options{InsecureSkipFsync: mode == "audit=on,InsecureSkipFsync"})
				defer l.Close()
			}
			b.ReportAllocs()
			b.SetParallelism(64)
			cpu := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				nonce := make([]byte, aead.NonceSize())
				out := make([]byte, 0, 512)
				plaintext := make([]byte, 256)
				for pb.Next() {
					var req struct{ Plaintext []byte }
					json.Unmarshal(body, &req)
					rand.Read(nonce)
					out = aead.Seal(out[:0], nonce, plaintext, []byte(testKeyARN))
					if l == nil {
						continue
					}
					params, err := RequestParameters("Encrypt", body)
					if err != nil {
						b.Error(err)
						return
					}
					ev := encryptEvent("bench")
					ev.RequestParameters = params
					if err := l.Append(context.Background(), ev); err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportCPU(b, cpu)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
		})
	}
}

// BenchmarkEventEncode compares the hand-written encoder with encoding/json.
func BenchmarkEventEncode(b *testing.B) {
	ev, _ := encryptEvent("bench").withDefaults(newClock().Now())
	b.Run("appendJSON", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 2048)
		for b.Loop() {
			buf, _ = ev.appendJSON(buf[:0])
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			json.Marshal(&ev)
		}
	})
}

func BenchmarkRequestParameters(b *testing.B) {
	body, _ := json.Marshal(map[string]any{
		"KeyId": testKeyARN, "Plaintext": base64.StdEncoding.EncodeToString(make([]byte, 256)),
		"EncryptionContext": map[string]string{"Department": "Engineering"}, "GrantTokens": []string{"t"},
	})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RequestParameters("Encrypt", body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkQueryBackwardSparse measures a LookupEvents-style search for an
// event that only the oldest of 20,000 records matches: the whole trail is
// read, and all but one record are passed over by the substring prefilter.
// "escaped" filters on a value outside the ARN alphabet, which the
// prefilter once left to a full decode of every record (18 µs a record
// against 0.7 µs).
func BenchmarkQueryBackwardSparse(b *testing.B) {
	dir := b.TempDir()
	l := openLog(b, dir, Options{InsecureSkipFsync: true})
	rare := encryptEvent("rare")
	rare.EventName = "ScheduleKeyDeletion"
	rare.UserIdentity.UserName = "Zoë"
	if err := l.Append(context.Background(), rare); err != nil {
		b.Fatal(err)
	}
	for i := range 20000 {
		if err := l.Append(context.Background(), encryptEvent(fmt.Sprint("req-", i))); err != nil {
			b.Fatal(err)
		}
	}
	l.Close()
	for _, tc := range []struct {
		name string
		f    Filter
	}{
		{"plain", Filter{EventName: "ScheduleKeyDeletion"}},
		{"escaped", Filter{Username: "Zoë"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				n := 0
				if err := QueryBackward(dir, tc.f, 0, func(uint64, *Event) bool { n++; return true }); err != nil || n != 1 {
					b.Fatalf("QueryBackward = %v, %d events, want 1", err, n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/20001, "ns/record")
		})
	}
}
