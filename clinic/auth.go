package clinic

import (
	"context"
	"strings"
	"unicode"
)

// Login checks a username and password and opens a session. It returns the
// session secret (for the cookie) once; only its hash is stored.
func (s *Service) Login(ctx context.Context, username, password string) (*User, string, *Session, error) {
	now := s.now()
	var u *User
	err := s.Store.View(ctx, func(tx Tx) (err error) {
		u, err = tx.UserByUsername(username)
		return err
	})
	if ErrorCode(err) == ENOTFOUND {
		CheckPassword(s.dummy(), password) // the same work as a wrong password
		return nil, "", nil, Errorf(EUNAUTHORIZED, "password", "wrong username or password")
	} else if err != nil {
		return nil, "", nil, err
	}
	if !CheckPassword(u.PasswordHash, password) || u.Disabled {
		return nil, "", nil, Errorf(EUNAUTHORIZED, "password", "wrong username or password")
	}
	secret := NewSecret("")
	sess := &Session{TokenHash: HashSecret(secret), UserID: u.ID, CSRF: NewSecret(""),
		CreatedAt: now, ExpiresAt: now.Add(s.Settings.SessionTTL)}
	err = s.Store.Update(ctx, func(tx Tx) error {
		if err := tx.DeleteExpiredSessions(now); err != nil {
			return err
		}
		if err := tx.CreateSession(sess); err != nil {
			return err
		}
		o := &op{s: s, tx: tx, now: now, p: &Principal{UserID: u.ID, Name: u.Username, Role: u.Role}}
		o.audit("session.create", "user", u.ID, 0, nil, map[string]any{"username": u.Username})
		return o.appendAudit()
	})
	if err != nil {
		return nil, "", nil, err
	}
	return u, secret, sess, nil
}

func (s *Service) dummy() string {
	dummyOnce.Do(func() { dummyHash, _ = HashPassword("not a password", s.PasswordParams) })
	return dummyHash
}

// Logout ends a session.
func (s *Service) Logout(ctx context.Context, secret string) error {
	return s.Store.Update(ctx, func(tx Tx) error { return tx.DeleteSession(HashSecret(secret)) })
}

// Authenticate returns the principal and session of a session secret.
func (s *Service) Authenticate(ctx context.Context, secret string) (*Principal, *Session, error) {
	now := s.now()
	var p *Principal
	var sess *Session
	err := s.Store.View(ctx, func(tx Tx) error {
		var err error
		sess, err = tx.Session(HashSecret(secret))
		if err != nil {
			return err
		}
		if !now.Before(sess.ExpiresAt) {
			return Errorf(EUNAUTHORIZED, "", "the session has expired: sign in again")
		}
		u, err := tx.User(sess.UserID)
		if err != nil {
			return err
		}
		if u.Disabled {
			return Errorf(EUNAUTHORIZED, "", "the account is disabled")
		}
		p = &Principal{UserID: u.ID, Name: u.Username, Role: u.Role}
		return nil
	})
	if ErrorCode(err) == ENOTFOUND {
		err = Errorf(EUNAUTHORIZED, "", "not signed in")
	}
	return p, sess, err
}

// AuthenticateToken returns the principal of an API token secret.
func (s *Service) AuthenticateToken(ctx context.Context, secret string) (*Principal, error) {
	var p *Principal
	err := s.Store.View(ctx, func(tx Tx) error {
		t, err := tx.TokenByHash(HashSecret(secret))
		if err != nil {
			return err
		}
		if t.RevokedAt != nil {
			return Errorf(EUNAUTHORIZED, "", "the token was revoked")
		}
		p = &Principal{TokenID: t.ID, Name: "token:" + t.Name, Role: t.Role, Serial: t.Serial}
		return nil
	})
	if ErrorCode(err) == ENOTFOUND {
		err = Errorf(EUNAUTHORIZED, "", "unknown API token")
	}
	return p, err
}

// UserInput is a new user, or a change to one (nil fields are left alone).
type UserInput struct {
	Username string  `json:"username"`
	Name     *string `json:"name"`
	Role     *Role   `json:"role"`
	Disabled *bool   `json:"disabled"`
	Password *string `json:"password"`
	Version  int64   `json:"version"`
}

func validUsername(u string) bool {
	if len(u) < 2 || len(u) > 64 {
		return false
	}
	for _, r := range u {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._-@", r)) {
			return false
		}
	}
	return true
}

func checkPassword(pw string) error {
	if len([]rune(pw)) < MinPasswordLength {
		return Errorf(EINVALID, "password", "must be at least %d characters", MinPasswordLength)
	}
	if len(pw) > 1024 {
		return Errorf(EINVALID, "password", "must be at most 1024 bytes")
	}
	return nil
}

// CreateUser adds a user.
func (s *Service) CreateUser(ctx context.Context, in UserInput) (*User, error) {
	if !validUsername(in.Username) {
		return nil, Errorf(EINVALID, "username", "2 to 64 letters, digits or . _ - @")
	}
	if in.Role == nil || !ValidUserRole(*in.Role) {
		return nil, Errorf(EINVALID, "role", "must be one of physician, nurse, administrator, read-only")
	}
	if in.Name == nil || strings.TrimSpace(*in.Name) == "" {
		return nil, Errorf(EINVALID, "name", "is required")
	}
	if in.Password == nil {
		return nil, Errorf(EINVALID, "password", "is required")
	}
	if err := checkPassword(*in.Password); err != nil {
		return nil, err
	}
	if err := s.allow(ctx, ManageUsers); err != nil {
		return nil, err
	}
	hash, err := HashPassword(*in.Password, s.PasswordParams)
	if err != nil {
		return nil, err
	}
	u := &User{Username: in.Username, Name: strings.TrimSpace(*in.Name), Role: *in.Role, PasswordHash: hash}
	err = s.write(ctx, ManageUsers, func(o *op) error {
		u.CreatedAt, u.UpdatedAt = o.now, o.now
		if err := o.tx.CreateUser(u); err != nil {
			return err
		}
		o.audit("user.create", "user", u.ID, 0, nil, u)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// UpdateUser changes a user's name, role, password or disabled flag.
func (s *Service) UpdateUser(ctx context.Context, id int64, in UserInput) (*User, error) {
	if in.Role != nil && !ValidUserRole(*in.Role) {
		return nil, Errorf(EINVALID, "role", "must be one of physician, nurse, administrator, read-only")
	}
	if in.Name != nil && strings.TrimSpace(*in.Name) == "" {
		return nil, Errorf(EINVALID, "name", "must not be empty")
	}
	if in.Version <= 0 {
		return nil, Errorf(EINVALID, "version", "give the version you read (for the lost-update check)")
	}
	var hash string
	if in.Password != nil {
		if err := checkPassword(*in.Password); err != nil {
			return nil, err
		}
		if err := s.allow(ctx, ManageUsers); err != nil {
			return nil, err
		}
		var err error
		if hash, err = HashPassword(*in.Password, s.PasswordParams); err != nil {
			return nil, err
		}
	}
	var u *User
	err := s.write(ctx, ManageUsers, func(o *op) error {
		var err error
		if u, err = o.tx.User(id); err != nil {
			return err
		}
		before := *u
		if u.Version != in.Version {
			return Errorf(ECONFLICT, "version", "user %d is at version %d, not %d: someone changed it; reload", id, u.Version, in.Version)
		}
		if in.Name != nil {
			u.Name = strings.TrimSpace(*in.Name)
		}
		if in.Role != nil {
			u.Role = *in.Role
		}
		if in.Disabled != nil {
			u.Disabled = *in.Disabled
		}
		if hash != "" {
			u.PasswordHash = hash
		}
		u.UpdatedAt = o.now
		if err := o.tx.UpdateUser(u); err != nil {
			return err
		}
		o.audit("user.update", "user", u.ID, 0, &before, u)
		return nil
	})
	return u, err
}

// Users lists the users.
func (s *Service) Users(ctx context.Context) ([]*User, error) {
	var out []*User
	err := s.view(ctx, ManageUsers, func(tx Tx) (err error) {
		out, err = tx.Users()
		return err
	})
	return out, err
}

// Bootstrap creates the first administrator when there is no user at all, with
// a generated password that it returns once. It refuses when users exist.
func (s *Service) Bootstrap(ctx context.Context, username string) (string, error) {
	if !validUsername(username) {
		return "", Errorf(EINVALID, "username", "2 to 64 letters, digits or . _ - @")
	}
	password := NewSecret("")[:24]
	hash, err := HashPassword(password, s.PasswordParams)
	if err != nil {
		return "", err
	}
	err = s.write(NewContext(ctx, System), ManageUsers, func(o *op) error {
		n, err := o.tx.CountUsers()
		if err != nil {
			return err
		}
		if n > 0 {
			return Errorf(ECONFLICT, "username", "users exist already: an administrator adds more with the API")
		}
		u := &User{Username: username, Name: "Administrator", Role: Administrator, PasswordHash: hash,
			CreatedAt: o.now, UpdatedAt: o.now}
		if err := o.tx.CreateUser(u); err != nil {
			return err
		}
		o.audit("user.create", "user", u.ID, 0, nil, u)
		return nil
	})
	return password, err
}

// TokenInput is a new API token.
type TokenInput struct {
	Name   string `json:"name"`
	Role   Role   `json:"role"`
	Serial string `json:"serial"`
}

// CreateToken makes an API token for a home monitor or a programmer and returns
// its secret once.
func (s *Service) CreateToken(ctx context.Context, in TokenInput) (*Token, string, error) {
	if strings.TrimSpace(in.Name) == "" || len(in.Name) > 100 {
		return nil, "", Errorf(EINVALID, "name", "is required (at most 100 bytes)")
	}
	if in.Role == "" {
		in.Role = Monitor
	}
	if in.Role != Monitor {
		return nil, "", Errorf(EINVALID, "role", "API tokens have the monitor role")
	}
	secret := NewSecret("thecal_")
	t := &Token{Name: in.Name, Role: in.Role, Serial: in.Serial, Hash: HashSecret(secret)}
	err := s.write(ctx, ManageUsers, func(o *op) error {
		t.CreatedAt, t.CreatedBy = o.now, o.p.UserID
		if err := o.tx.CreateToken(t); err != nil {
			return err
		}
		o.audit("token.create", "token", t.ID, 0, nil, t)
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return t, secret, nil
}

// Tokens lists the API tokens (never their secrets).
func (s *Service) Tokens(ctx context.Context) ([]*Token, error) {
	var out []*Token
	err := s.view(ctx, ManageUsers, func(tx Tx) (err error) {
		out, err = tx.Tokens()
		return err
	})
	return out, err
}

// RevokeToken revokes an API token for good.
func (s *Service) RevokeToken(ctx context.Context, id int64) error {
	return s.write(ctx, ManageUsers, func(o *op) error {
		t, err := o.tx.Token(id)
		if err != nil {
			return err
		}
		before := *t
		if err := o.tx.RevokeToken(id, o.now); err != nil {
			return err
		}
		at := o.now
		t.RevokedAt = &at
		o.audit("token.revoke", "token", id, 0, &before, t)
		return nil
	})
}
