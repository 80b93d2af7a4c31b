package clinic

import (
	"strings"
	"testing"
	"time"
)

func TestCheckNewPassword(t *testing.T) {
	for _, pw := range []string{strings.Repeat(" ", 12), strings.Repeat("\x00", 12), "password1234", "kim.admin.01", "Kim.Admin.01xyz", "short", "abc\u202Edefghijkl"} {
		if err := CheckNewPassword(pw, "kim.admin.01", "Kim Admin"); ErrorCode(err) != EINVALID || ErrorField(err) != "password" {
			t.Errorf("%q accepted: %v", pw, err)
		}
	}
	if err := CheckNewPassword("violet staple harbour engine", "kim.admin.01", "Kim Admin"); err != nil {
		t.Errorf("a good password refused: %v", err)
	}
}

// The back-off doubles from the first failure past the free ones, up to Max;
// attempts in flight count; a success clears the account but not the address.
func TestThrottleBackoff(t *testing.T) {
	p := DefaultAccountThrottle
	for n, want := range map[int]time.Duration{0: 0, 2: 0, 3: time.Second, 4: 2 * time.Second, 6: 8 * time.Second, 20: time.Minute} {
		if got := p.backoff(n); got != want {
			t.Errorf("backoff(%d) = %v, want %v", n, got, want)
		}
	}
	var th throttle
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	acct := []throttleKey{{name: accountKey("Ann"), policy: p, account: "Ann"}, {name: addressKey("192.0.2.1:5000"), policy: DefaultAddressThrottle}}
	for i := range 3 {
		if _, ok := th.admit(now, acct); !ok {
			t.Fatalf("free attempt %d refused", i)
		}
	}
	if _, ok := th.admit(now, acct); ok {
		t.Fatal("a fourth attempt in flight admitted")
	}
	for range 3 {
		th.done(now, acct, true)
	}
	if wait, ok := th.admit(now.Add(500*time.Millisecond), acct); ok || wait <= 0 {
		t.Fatalf("inside the back-off: %v %v", wait, ok)
	}
	if _, ok := th.admit(now.Add(2*time.Second), acct); !ok {
		t.Fatal("after the back-off refused")
	}
	th.done(now.Add(2*time.Second), acct, false)
	if th.m[accountKey("ann")] != nil || th.m[addressKey("192.0.2.1")].failures != 3 {
		t.Fatalf("after a success: %+v", th.m)
	}
	if addressKey("2001:db8::1") != addressKey("[2001:db8::ffff]:443") {
		t.Fatal("one IPv6 /64 is two keys")
	}
}
