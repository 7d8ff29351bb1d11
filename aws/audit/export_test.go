package audit

import (
	"errors"
	"io/fs"
	"os"
)

// ForgetSent removes the record of what was sent, as a crash before it was written would.
func ForgetSent(s *Shared) error {
	if err := os.Remove(s.Local.path + ".sent"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
