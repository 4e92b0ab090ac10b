module github.com/netlab/netlab

go 1.26.0
<<<<<<< HEAD

require github.com/spf13/cobra v1.10.2

require (
	github.com/google/gopacket v1.1.19 // indirect
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
=======

require (
	github.com/spf13/cobra v1.10.2
	github.com/spf13/pflag v1.0.9
	go.uber.org/goleak v1.3.0
	golang.org/x/sys v0.50.0
>>>>>>> main
)

require github.com/inconshreveable/mousetrap v1.1.0 // indirect
