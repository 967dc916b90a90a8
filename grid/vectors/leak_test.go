package vectors

import (
	"testing"

	"github.com/lafssync/lafssync/internal/testkit"
)

// No test leaves a goroutine running.
func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m) }
