using System.Numerics;
using System.Runtime.CompilerServices;
using Learner.Nn;

namespace Learner.Sampling;

/// <summary>
/// The state of an <see cref="Rng"/> held in locals for a hot loop: the same xoshiro256** step as
/// <see cref="Rng.NextUInt64"/> (so the stream is exactly the generator's), without the field loads and stores of a
/// heap object per draw. Copy in with the constructor, draw, and copy back with <see cref="WriteBack"/>.
/// </summary>
internal struct LocalRandom
{
    private ulong _s0, _s1, _s2, _s3;
    private readonly RngState _original;

    public LocalRandom(Rng rng)
    {
        _original = rng.GetState();
        (_s0, _s1, _s2, _s3) = (_original.S0, _original.S1, _original.S2, _original.S3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong NextUInt64()
    {
        ulong result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3; _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Stores the advanced state back into <paramref name="rng"/> (its cached normal variate is untouched).</summary>
    public readonly void WriteBack(Rng rng) => rng.SetState(_original with { S0 = _s0, S1 = _s1, S2 = _s2, S3 = _s3 });
}
