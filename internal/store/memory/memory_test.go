package memory

import (
	"testing"

	"github.com/keyward/keyward/internal/store/storetest"
)

func TestConformance(t *testing.T) { storetest.Run(t, New()) }
