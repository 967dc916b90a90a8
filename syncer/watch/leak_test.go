package watch

import (
	"testing"

	"github.com/lafssync/lafssync/internal/testkit"
)

func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m) }
