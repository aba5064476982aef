// Package splitmix is the seeded-value rule of tools/README.md, written once for its three
// users, which must agree bit for bit: the seeded weights of the goldens (internal/seedweights),
// the reference interpreter's dropout masks (gen/interp) and the generated training code's
// (runtime/trainrt). A tensor's name hashes to a seed (FNV-1a 64), and its element i gets the
// uniform value of SplitMix64's finalizer at seed + (i+1)*gamma.
package splitmix

const (
	fnvOffset = 0xcbf29ce484222325
	fnvPrime  = 0x100000001b3
	gamma     = 0x9e3779b97f4a7c15
)

// Hash is FNV-1a 64 of name.
func Hash(name string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= fnvPrime
	}
	return h
}

// Uniform is u_i in [0, 1) of the tensor whose name hashes to seed.
func Uniform(seed uint64, i int) float64 {
	z := seed + uint64(i+1)*gamma
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11) * 0x1p-53
}
