module github.com/psanford/wormhole-william

go 1.21
