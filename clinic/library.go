package clinic

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/thecal/thecal/drug"
)

// MaxLibraryFile bounds the size of a drug library file a clinic publishes.
const MaxLibraryFile = 4 << 20

// LibraryVersion is a drug library version a clinic published: the file as it
// was given, its SHA-256, who published it, when and why. A published version
// is immutable (spec/drugs.md): a change is a new version, and the store
// refuses to change or remove one.
type LibraryVersion struct {
	ID          int64     `json:"id"`
	Version     string    `json:"version"`
	Digest      string    `json:"digest"`
	Dated       string    `json:"dated"`               // the file's own "published" date, YYYY-MM-DD
	Publisher   string    `json:"publisher,omitempty"` // the file's "publisher"
	Note        string    `json:"note"`                // why it was published
	PublishedBy string    `json:"published_by"`        // the user who published it
	ByID        int64     `json:"published_by_id"`
	PublishedAt time.Time `json:"published_at"`
	Drugs       []string  `json:"drugs"`
	// Data is the file itself; the store fills it only when asked for one
	// version (LibraryVersion), not in lists.
	Data []byte `json:"-"`
}

// LibraryState is the library in force and the versions published.
type LibraryState struct {
	// InForce is the library every new prescription is checked against.
	InForce LibraryRef `json:"in_force"`
	// Versions are the published versions, newest first (the first is in
	// force); empty while the built-in default is in force.
	Versions []*LibraryVersion `json:"versions"`
}

// LibraryRef names a library: what a prescription records.
type LibraryRef struct {
	Version string `json:"version"`
	Digest  string `json:"digest"`
	// BuiltIn is true for the library the server was started with (the
	// embedded default), in force while no version is published.
	BuiltIn bool `json:"built_in,omitempty"`
}

// Library returns the drug library in force as this server last saw it.
// Prescribe reads the newest published version in its own transaction, so a
// version published by another server sharing the database is used at once.
func (s *Service) Library() *drug.Library { return s.lib.Load() }

// currentLibrary returns the newest published version in the store (loading
// and caching it when it is not the one in force here), or the built-in
// library when none is published.
func (s *Service) currentLibrary(tx Tx) (*drug.Library, error) {
	head, err := tx.LatestLibraryVersion()
	if err != nil {
		return nil, err
	}
	cur := s.lib.Load()
	if head == nil {
		if cur != s.builtin && s.builtin != nil {
			// Only a restore of an older backup can remove published versions.
			s.lib.CompareAndSwap(cur, s.builtin)
			return s.builtin, nil
		}
		return cur, nil
	}
	if cur.Version == head.Version && cur.Digest == head.Digest {
		return cur, nil
	}
	full, err := tx.LibraryVersion(head.Version)
	if err != nil {
		return nil, err
	}
	lib, err := drug.Load(full.Data)
	if err != nil {
		return nil, Errorf(EINTERNAL, "", "published drug library %s does not load: %v", head.Version, err)
	}
	if lib.Digest != head.Digest || lib.Version != head.Version {
		return nil, Errorf(EINTERNAL, "", "published drug library %s: the stored file does not match its digest", head.Version)
	}
	s.lib.CompareAndSwap(cur, lib)
	return lib, nil
}

// LoadLibrary puts the newest published library version in force, or keeps the
// built-in library when none is published. A server calls it at start: a
// stored version that no longer loads is an error, never a silent fallback.
func (s *Service) LoadLibrary(ctx context.Context) (*drug.Library, error) {
	var lib *drug.Library
	err := s.Store.View(ctx, func(tx Tx) (err error) {
		lib, err = s.currentLibrary(tx)
		return err
	})
	return lib, err
}

// LibraryVersions returns the library in force and every published version,
// newest first.
func (s *Service) LibraryVersions(ctx context.Context) (*LibraryState, error) {
	st := &LibraryState{Versions: []*LibraryVersion{}}
	err := s.view(ctx, ReadLibrary, func(tx Tx) error {
		lib, err := s.currentLibrary(tx)
		if err != nil {
			return err
		}
		st.InForce = LibraryRef{Version: lib.Version, Digest: lib.Digest}
		vs, err := tx.LibraryVersions()
		if err != nil {
			return err
		}
		st.Versions = append(st.Versions, vs...)
		st.InForce.BuiltIn = len(vs) == 0
		return nil
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// PublishLibrary publishes a new drug library version from a library file and
// puts it in force for every later prescription check. The file is validated
// as a whole by drug.Load: any problem refuses it, with every problem named by
// its field path (Error.Problems). A version name already published — or the
// built-in library's, or the one in force — is refused: a published version is
// immutable, a change is a new version. The note (why, what changed) is
// required. The publication is audited: before, the version and digest in
// force; after, the new one.
func (s *Service) PublishLibrary(ctx context.Context, data []byte, note string) (*LibraryVersion, error) {
	if err := s.allow(ctx, PublishLibrary); err != nil {
		return nil, err
	}
	note = strings.TrimSpace(note)
	switch {
	case len(data) == 0:
		return nil, Errorf(EINVALID, "file", "choose a drug library file to publish")
	case len(data) > MaxLibraryFile:
		return nil, Errorf(ETOOLARGE, "file", "a drug library file is at most %d bytes", MaxLibraryFile)
	case note == "":
		return nil, Errorf(EINVALID, "note", "say what changed and why (the note is kept with the version)")
	}
	if err := textField("note", note, 10_000); err != nil {
		return nil, err
	}
	lib, err := drug.Load(data)
	if err != nil {
		var le *drug.LoadError
		if !errors.As(err, &le) {
			return nil, err
		}
		e := Errorf(EINVALID, "file", "the drug library file is refused as a whole (%d problem%s); nothing was published",
			len(le.Problems), plural(len(le.Problems)))
		for _, p := range le.Problems {
			e.Problems = append(e.Problems, Problem{Field: p.Path, Reason: p.Reason})
		}
		return nil, e
	}
	v := &LibraryVersion{Version: lib.Version, Digest: lib.Digest, Dated: lib.Published.Format(time.DateOnly),
		Publisher: lib.Publisher, Note: note, Data: append([]byte(nil), data...)}
	for _, d := range lib.Drugs {
		v.Drugs = append(v.Drugs, d.Name)
	}
	s.publishing.Lock()
	defer s.publishing.Unlock()
	err = s.write(ctx, PublishLibrary, func(o *op) error {
		cur, err := s.currentLibrary(o.tx)
		if err != nil {
			return err
		}
		old, err := o.tx.LibraryVersion(lib.Version)
		switch {
		case err == nil:
			return Errorf(ECONFLICT, "version", "drug library version %q was published on %s by %s: a published version is immutable; give the changed library a new version",
				old.Version, old.PublishedAt.Format(time.DateOnly), old.PublishedBy)
		case ErrorCode(err) != ENOTFOUND:
			return err
		}
		if s.builtin != nil && lib.Version == s.builtin.Version || lib.Version == cur.Version {
			return Errorf(ECONFLICT, "version", "drug library version %q is the built-in library's: a published version is immutable; give the changed library a new version", lib.Version)
		}
		v.PublishedBy, v.PublishedAt = o.p.Name, o.now
		if o.p.TokenID == 0 {
			v.ByID = o.p.UserID
		}
		if err := o.tx.CreateLibraryVersion(v); err != nil {
			return err
		}
		o.result(v)
		o.audit("library.publish", "library", v.ID, 0,
			LibraryRef{Version: cur.Version, Digest: cur.Digest, BuiltIn: cur == s.builtin},
			struct {
				LibraryRef
				Dated     string   `json:"dated"`
				Publisher string   `json:"publisher,omitempty"`
				Note      string   `json:"note"`
				Drugs     []string `json:"drugs"`
			}{LibraryRef{Version: v.Version, Digest: v.Digest}, v.Dated, v.Publisher, v.Note, v.Drugs})
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.lib.Store(lib)
	s.Logger.Info("drug library published", "version", v.Version, "digest", v.Digest, "by", v.PublishedBy)
	return v, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// lookupDrug finds a drug in the library or refuses the field.
func (s *Service) lookupDrug(field, name string) (*drug.Drug, error) {
	lib := s.Library()
	d, ok := lib.Lookup(name)
	if !ok {
		return nil, Errorf(EINVALID, field, "%q is not in drug library %s", name, lib.Version)
	}
	return d, nil
}
