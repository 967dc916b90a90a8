// Command gen draws LAFS Sync's icons: a shield-blue disc holding a ring of
// ten "shares", three of them highlighted (any three recover the file).
// Run with `go generate ./icons`.
package main

import (
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
	"path/filepath"
)

func main() {
	dir := "."
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	for _, size := range []int{256, 64, 32} {
		img := draw(size)
		f, err := os.Create(filepath.Join(dir, "lafssync-"+itoa(size)+".png"))
		if err != nil {
			log.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			log.Fatal(err)
		}
		f.Close()
	}
}

func itoa(n int) string {
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}

func draw(size int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	c := float64(size) / 2
	bg := color.NRGBA{0x1f, 0x5f, 0xbf, 0xff}
	share := color.NRGBA{0xe8, 0xf0, 0xff, 0xff}
	hot := color.NRGBA{0xff, 0xc1, 0x2e, 0xff}
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			dx, dy := float64(x)+0.5-c, float64(y)+0.5-c
			r := math.Hypot(dx, dy)
			if r <= c*0.96 {
				img.SetNRGBA(x, y, bg)
			}
			for i := 0; i < 10; i++ {
				a := 2 * math.Pi * float64(i) / 10
				sx, sy := c+math.Cos(a)*c*0.62, c+math.Sin(a)*c*0.62
				if math.Hypot(float64(x)+0.5-sx, float64(y)+0.5-sy) <= c*0.14 {
					col := share
					if i%3 == 0 && i < 9 {
						col = hot
					}
					img.SetNRGBA(x, y, col)
				}
			}
			if r <= c*0.22 {
				img.SetNRGBA(x, y, hot)
			}
		}
	}
	return img
}
