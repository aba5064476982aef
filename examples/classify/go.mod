module example.com/classify

go 1.26.0

tool github.com/cnngen/cnngen/cmd/cnngen

require github.com/cnngen/cnngen v0.0.0

require (
	github.com/dave/jennifer v1.7.1 // indirect
	github.com/klauspost/cpuid/v2 v2.4.2 // indirect
	golang.org/x/image v0.48.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

// This example lives inside the cnngen repository; a user's module requires a released version
// of cnngen instead and has no replace line.
replace github.com/cnngen/cnngen => ../..
