package demo

import _ "embed"

// libraryJSON is the demonstration clinic's drug library: the default
// library with the clinic's own limits set where no label or published
// source gives one (issue 11 item 4), each such figure's source saying it is
// the clinic's choice, not a published figure. Seed publishes it, so the
// demonstration's prescriptions are checked against limits a clinic set,
// and its library page lists what is still left empty.
//
//go:embed library.json
var libraryJSON []byte

// LibraryNote is the note the demonstration clinic publishes its library with.
const LibraryNote = "The demonstration clinic's limits where the default library leaves them empty; each is marked as the clinic's choice."

// Library returns the demonstration clinic's drug library file.
func Library() []byte { return append([]byte(nil), libraryJSON...) }
