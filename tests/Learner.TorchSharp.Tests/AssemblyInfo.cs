// libtorch's default generator is process-wide: a test that seeds it (the module-factory backend) and tests that build
// modules (whose constructors draw from it) must not interleave, so this assembly's tests run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
