package lease

import (
	"testing"

	"github.com/lafssync/lafssync/grid/walk/walktest"
	"github.com/lafssync/lafssync/internal/testkit"
)

// No test leaves a goroutine running (once the shared key pool is closed).
func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m, walktest.Close) }
