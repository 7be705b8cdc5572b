using System.Numerics;
using System.Runtime.CompilerServices;

namespace Learner.Nn;

/// <summary>
/// A seeded, platform-independent pseudo-random generator (xoshiro256** seeded through SplitMix64).
/// Every random choice in Learner.Nn (initialisation, dropout, shuffling) draws from an explicit <see cref="Rng"/>,
/// so the same seed gives bit-identical results on every machine.
/// </summary>
public sealed class Rng
{
    private ulong _s0, _s1, _s2, _s3;
    private bool _hasSpare;
    private double _spare;

    /// <summary>Creates a generator from a 64-bit seed.</summary>
    /// <param name="seed">The seed; any value (including 0) is valid.</param>
    public Rng(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
    }

    /// <summary>Creates a generator from a 32-bit seed.</summary>
    /// <param name="seed">The seed.</param>
    public Rng(int seed) : this(unchecked((ulong)(uint)seed)) { }

    private Rng(ulong s0, ulong s1, ulong s2, ulong s3) { _s0 = s0; _s1 = s1; _s2 = s2; _s3 = s3; }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Returns the next 64 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong NextUInt64()
    {
        ulong result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3; _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Returns a uniformly distributed double in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Returns a uniformly distributed float in [0, 1).</summary>
    public float NextSingle() => (NextUInt64() >> 40) * (1.0f / (1 << 24));

    /// <summary>Returns a uniformly distributed integer in [0, <paramref name="maxExclusive"/>), without modulo bias.</summary>
    /// <param name="maxExclusive">The exclusive upper bound; must be positive.</param>
    public int NextInt(int maxExclusive)
    {
        if (maxExclusive <= 0) throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, "The upper bound must be positive.");
        // Lemire's multiply-shift with rejection.
        ulong range = (ulong)maxExclusive;
        ulong x = NextUInt64() >> 32;
        ulong mul = x * range;
        uint low = (uint)mul;
        if (low < range)
        {
            uint threshold = (uint)((0x1_0000_0000UL - range) % range);
            while (low < threshold)
            {
                x = NextUInt64() >> 32;
                mul = x * range;
                low = (uint)mul;
            }
        }
        return (int)(mul >> 32);
    }

    /// <summary>Returns a uniformly distributed integer in [<paramref name="minInclusive"/>, <paramref name="maxExclusive"/>).</summary>
    /// <param name="minInclusive">Inclusive lower bound.</param>
    /// <param name="maxExclusive">Exclusive upper bound; must exceed the lower bound.</param>
    public int NextInt(int minInclusive, int maxExclusive)
    {
        if (maxExclusive <= minInclusive) throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, $"The upper bound must exceed the lower bound {minInclusive}.");
        return minInclusive + NextInt(maxExclusive - minInclusive);
    }

    /// <summary>Returns a standard normal variate (mean 0, variance 1), by the polar Box–Muller method.</summary>
    public double NextGaussian()
    {
        if (_hasSpare) { _hasSpare = false; return _spare; }
        double u, v, s;
        do
        {
            u = 2.0 * NextDouble() - 1.0;
            v = 2.0 * NextDouble() - 1.0;
            s = u * u + v * v;
        } while (s >= 1.0 || s == 0.0);
        double f = Math.Sqrt(-2.0 * Math.Log(s) / s);
        _spare = v * f; _hasSpare = true;
        return u * f;
    }

    /// <summary>Fills <paramref name="destination"/> with uniform values in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    /// <param name="destination">Where to write.</param>
    /// <param name="low">Inclusive lower bound.</param>
    /// <param name="high">Exclusive upper bound.</param>
    public void FillUniform(Span<float> destination, float low, float high)
    {
        float scale = high - low;
        for (int i = 0; i < destination.Length; i++) destination[i] = low + scale * NextSingle();
    }

    /// <summary>Fills <paramref name="destination"/> with normal values of the given mean and standard deviation.</summary>
    /// <param name="destination">Where to write.</param>
    /// <param name="mean">Mean.</param>
    /// <param name="std">Standard deviation.</param>
    public void FillNormal(Span<float> destination, float mean, float std)
    {
        for (int i = 0; i < destination.Length; i++) destination[i] = (float)(mean + std * NextGaussian());
    }

    /// <summary>Shuffles <paramref name="items"/> in place (Fisher–Yates).</summary>
    /// <typeparam name="T">Element type.</typeparam>
    /// <param name="items">The items.</param>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>Derives an independent generator whose stream depends only on this generator's state and <paramref name="stream"/>,
    /// without advancing this generator. Useful to give each worker or each epoch its own reproducible stream.</summary>
    /// <param name="stream">A stream identifier.</param>
    public Rng Fork(ulong stream)
    {
        ulong x = _s0 ^ BitOperations.RotateLeft(_s1, 13) ^ BitOperations.RotateLeft(_s2, 29) ^ BitOperations.RotateLeft(_s3, 47) ^ (stream * 0xD1B54A32D192ED03UL);
        return new Rng(SplitMix(ref x), SplitMix(ref x), SplitMix(ref x), SplitMix(ref x));
    }

    /// <summary>Captures the generator's full state, for checkpoints.</summary>
    /// <returns>The state: four 64-bit words, a flag and the cached normal variate.</returns>
    public RngState GetState() => new(_s0, _s1, _s2, _s3, _hasSpare, _spare);

    /// <summary>Restores a state captured by <see cref="GetState"/>.</summary>
    /// <param name="state">The state.</param>
    public void SetState(RngState state)
    {
        if ((state.S0 | state.S1 | state.S2 | state.S3) == 0) throw new ArgumentException("An all-zero xoshiro state is invalid.", nameof(state));
        (_s0, _s1, _s2, _s3, _hasSpare, _spare) = (state.S0, state.S1, state.S2, state.S3, state.HasSpare, state.Spare);
    }
}

/// <summary>The complete state of an <see cref="Rng"/>.</summary>
/// <param name="S0">State word 0.</param>
/// <param name="S1">State word 1.</param>
/// <param name="S2">State word 2.</param>
/// <param name="S3">State word 3.</param>
/// <param name="HasSpare">Whether a cached normal variate is pending.</param>
/// <param name="Spare">The cached normal variate.</param>
public readonly record struct RngState(ulong S0, ulong S1, ulong S2, ulong S3, bool HasSpare, double Spare);
