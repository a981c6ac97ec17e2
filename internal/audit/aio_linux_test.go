package audit

import (
	"os"
	"path/filepath"
	"testing"
)

// TestAsyncSync checks that the writer syncs through Linux AIO here, that a
// sync reports success on a real file and an error on a closed one.
func TestAsyncSync(t *testing.T) {
	a, err := newAsyncSync()
	if err != nil {
		t.Skipf("no Linux AIO on this kernel (%v): syncs block, as before", err)
	}
	defer a.close()
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("record\n")); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := a.fdatasync(f); err != nil {
			t.Fatalf("AIO fdatasync: %v", err)
		}
	}
	f.Close()
	if err := a.fdatasync(f); err == nil {
		t.Error("AIO fdatasync of a closed file succeeded")
	}

	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	if l.aio == nil {
		t.Error("the Log syncs without AIO although the kernel has it")
	}
	appendN(t, l, 0, 20)
	if st := l.Stats(); st.Fsyncs == 0 {
		t.Errorf("Stats = %+v, want fsyncs", st)
	}
	l.Close()
	if rep := mustVerify(t, dir); rep.Records != 20 {
		t.Errorf("Verify = %+v", rep)
	}
}
