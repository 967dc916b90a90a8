package recovery

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/lafssync/lafssync/internal/atomicfile"
)

// QRSize is the width in pixels of the QR code's PNG: about 10 cm at 200
// dpi, easy for a phone to read off paper or a screen.
const QRSize = 800

// Saved says where Save put a kit.
type Saved struct {
	Path string // the kit's text
	QR   string // its QR code (PNG); "" when QRErr says why not
	// QRErr is why there is no QR code (ErrTooBigForQR); the kit itself
	// was saved.
	QRErr error
}

// Save writes the kit's text (from Seal) to path and its QR code to
// path + ".png", each through a temporary file and a rename, readable
// only by the user (0600). It refuses to replace a file that is not a
// recovery kit.
func Save(path string, kit []byte) (Saved, error) {
	s := Saved{Path: path}
	if err := replaceable(path); err != nil {
		return s, err
	}
	if err := writeAtomic(path, kit); err != nil {
		return s, err
	}
	png, err := QRPNG(kit, QRSize)
	if err != nil {
		s.QRErr = err
		return s, nil
	}
	qr := path + ".png"
	if err := writeAtomic(qr, png); err != nil {
		s.QRErr = err
		return s, nil
	}
	s.QR = qr
	return s, nil
}

// replaceable refuses an existing path that is not a recovery kit.
func replaceable(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a folder: give the path of the file to write", path)
	}
	head := make([]byte, len(HeaderWord))
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head, []byte(HeaderWord)) {
		return fmt.Errorf("%s exists and is not a recovery kit: not replacing it (choose another file name)", path)
	}
	return nil
}

func writeAtomic(path string, b []byte) error {
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
}

// ReadFile reads a kit's text, refusing a file too large to be one.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxText+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxText {
		return nil, fmt.Errorf("%s: %w (it is larger than 1 MB; a kit is a few KB)", path, ErrNotKit)
	}
	return b, nil
}
