package clinic

import (
	"net/netip"
	"strings"
	"sync"
	"time"
)

// The sign-in throttle (issue 14, finding 4): failed sign-ins are counted per
// account and per source address. A few are free; after that each attempt
// must wait an exponentially growing time after the one before; at a limit
// the account or address is locked for a while, which is audited and put on
// the administrator's security worklist. A refused attempt costs no password
// hash. Attempts still running count as failures for the back-off, so that
// parallel guesses cannot slip past it together.
//
// The counts are kept in memory: each server of several behind one database
// throttles on its own (docs/clinic.md).

// ThrottlePolicy is how one kind of key (an account, an address) is throttled.
type ThrottlePolicy struct {
	Free      int           // failures allowed without waiting
	Base, Max time.Duration // the first back-off, doubling up to Max
	LockAfter int           // failures that lock the key
	Lock      time.Duration // for this long; every failure after it locks again
	Forget    time.Duration // a key with no failure for this long starts afresh
}

// DefaultAccountThrottle: three free tries, then 1 s, 2 s, 4 s … up to a
// minute between tries; the tenth failure locks the account for 15 minutes.
var DefaultAccountThrottle = ThrottlePolicy{Free: 3, Base: time.Second, Max: time.Minute,
	LockAfter: 10, Lock: 15 * time.Minute, Forget: time.Hour}

// DefaultAddressThrottle is looser (a clinic's staff may share one address
// behind NAT): ten free, the thirtieth failure locks the address for 15
// minutes.
var DefaultAddressThrottle = ThrottlePolicy{Free: 10, Base: time.Second, Max: time.Minute,
	LockAfter: 30, Lock: 15 * time.Minute, Forget: time.Hour}

// maxThrottleKeys bounds the memory of the throttle (about 100 bytes a key).
const maxThrottleKeys = 100_000

type attempts struct {
	failures, inflight int
	last               time.Time // the last attempt admitted or failed
	lockedUntil        time.Time
}

func (p ThrottlePolicy) backoff(n int) time.Duration {
	if n < p.Free {
		return 0
	}
	d := p.Base
	for i := p.Free; i < n && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// throttleKey is one counted thing: an account or an address.
type throttleKey struct {
	name   string // "account:NAME" or "address:PREFIX"
	policy ThrottlePolicy
	// account is the username for an account key ("" for an address).
	account string
}

type throttle struct {
	mu sync.Mutex
	m  map[string]*attempts
}

// admit says whether an attempt on keys may go ahead now; if not, how long to
// wait. An admitted attempt must be ended with done.
func (t *throttle) admit(now time.Time, keys []throttleKey) (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]*attempts{}
	}
	var wait time.Duration
	for _, k := range keys {
		e := t.m[k.name]
		if e == nil {
			continue
		}
		if e.inflight == 0 && !now.Before(e.lockedUntil) && now.Sub(e.last) > k.policy.Forget {
			delete(t.m, k.name)
			continue
		}
		if now.Before(e.lockedUntil) {
			wait = max(wait, e.lockedUntil.Sub(now))
		}
		if next := e.last.Add(k.policy.backoff(e.failures + e.inflight)); now.Before(next) {
			wait = max(wait, next.Sub(now))
		}
	}
	if wait > 0 {
		return wait.Round(time.Second) + time.Second, false
	}
	for _, k := range keys {
		e := t.m[k.name]
		if e == nil {
			if len(t.m) >= maxThrottleKeys {
				t.evict(now)
			}
			e = &attempts{}
			t.m[k.name] = e
		}
		e.inflight++
		e.last = now
	}
	return 0, true
}

// locked returns the keys this server holds locked at now.
func (t *throttle) locked(now time.Time, keys []throttleKey) []throttleKey {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []throttleKey
	for _, k := range keys {
		if e := t.m[k.name]; e != nil && now.Before(e.lockedUntil) {
			out = append(out, k)
		}
	}
	return out
}

// evict makes room: first keys that would be forgotten anyway, then any key
// neither locked, nor in use, nor near its lock.
func (t *throttle) evict(now time.Time) {
	for name, e := range t.m {
		if e.inflight == 0 && !now.Before(e.lockedUntil) && now.Sub(e.last) > time.Hour {
			delete(t.m, name)
		}
	}
	if len(t.m) < maxThrottleKeys {
		return
	}
	for name, e := range t.m {
		if e.inflight == 0 && !now.Before(e.lockedUntil) && e.failures < 3 {
			delete(t.m, name)
			if len(t.m) < maxThrottleKeys*9/10 {
				return
			}
		}
	}
}

// done ends an admitted attempt. A failure is counted against every key and
// returns the keys it locked; a success clears the account's count (not the
// address's: signing in to one's own account must not reset the count of
// guesses at others').
func (t *throttle) done(now time.Time, keys []throttleKey, failed bool) (locked []throttleKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		e := t.m[k.name]
		if e == nil {
			continue
		}
		e.inflight--
		switch {
		case failed:
			e.failures++
			e.last = now
			if e.failures >= k.policy.LockAfter && !now.Before(e.lockedUntil) {
				e.lockedUntil = now.Add(k.policy.Lock)
				locked = append(locked, k)
			}
		case k.account != "" && e.inflight == 0:
			delete(t.m, k.name)
		}
	}
	return locked
}

// unlock clears a key (an administrator unlocked the account or address).
func (t *throttle) unlock(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, name)
}

// accountKey is the throttle key of a username as typed (case-folded, so that
// "Admin" and "admin" count together).
func accountKey(username string) string {
	u := strings.ToLower(username)
	if len(u) > 64 {
		u = u[:64]
	}
	return "account:" + u
}

// addressKey is the throttle key of a source address: the address itself for
// IPv4, its /64 for IPv6 (one subscriber's whole prefix), "" when there is none.
func addressKey(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		if ap, err2 := netip.ParseAddrPort(addr); err2 == nil {
			a = ap.Addr()
		} else {
			return ""
		}
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return "address:" + p.String()
	}
	return "address:" + a.String()
}
