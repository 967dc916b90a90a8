package recovery

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/skip2/go-qrcode"
)

// ErrTooBigForQR is a kit too large for one QR code (about 2 KB: many
// folders or aliases); the file and its printed text still work.
var ErrTooBigForQR = errors.New("this recovery kit is too large for one QR code: keep the file, or print its text")

// QRText is what the QR code of a kit holds: the header word, the
// version and the base32 blob on one line, all in QR's alphanumeric
// alphabet (upper case, digits, space, "-"), so the code stays small and
// every scanner reads it as text. Open reads it as it reads the file.
func QRText(kit []byte) (string, error) {
	blob, canonical, err := parseText(kit)
	if err == nil && !canonical {
		err = fmt.Errorf("%w (its last character is not one a kit ends with)", ErrDamaged)
	}
	if err == nil {
		_, err = parseBlob(blob)
	}
	if err != nil {
		return "", err
	}
	return HeaderWord + " " + strconv.Itoa(FormatVersion) + " " + b32.EncodeToString(blob), nil
}

// QRPNG is a PNG of the kit's QR code, size pixels wide (at least the
// code's own size), for printing or a screen.
func QRPNG(kit []byte, size int) ([]byte, error) {
	q, err := qrCode(kit)
	if err != nil {
		return nil, err
	}
	return q.PNG(size)
}

func qrCode(kit []byte) (*qrcode.QRCode, error) {
	s, err := QRText(kit)
	if err != nil {
		return nil, err
	}
	// Medium error correction survives a crease or a stain; a larger kit
	// falls back to Low.
	for _, l := range []qrcode.RecoveryLevel{qrcode.Medium, qrcode.Low} {
		if q, err := qrcode.New(s, l); err == nil {
			return q, nil
		}
	}
	return nil, fmt.Errorf("%w (%d characters)", ErrTooBigForQR, len(s))
}
