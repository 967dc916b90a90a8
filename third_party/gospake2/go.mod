module salsa.debian.org/vasudev/gospake2

go 1.21

require golang.org/x/crypto v0.59.0
