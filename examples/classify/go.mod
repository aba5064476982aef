module example.com/classify

go 1.26.0

tool github.com/cnngen/cnngen/cmd/cnngen

require github.com/cnngen/cnngen v0.0.0

// This example lives inside the cnngen repository; a user's module requires a released version
// of cnngen instead and has no replace line.
replace github.com/cnngen/cnngen => ../..
