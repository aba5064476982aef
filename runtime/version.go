package runtime

// SupportPackageIsVersion2 is referenced by every generated package. When the API between
// generated code and this package changes incompatibly, the constant is renamed, so that stale
// generated code fails to compile (naming the version it needs) instead of computing wrong numbers.
const SupportPackageIsVersion3 = true
