package invite_test

import (
	"testing"

	"github.com/lafssync/lafssync/internal/testkit"
	"github.com/lafssync/lafssync/node/invite/invitetest"
)

func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m, invitetest.Stop) }
