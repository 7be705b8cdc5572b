using Learner.Nn;
using Learner.Nn.Modules;

/// <summary>An exponential moving average of a module's parameters and buffers (a diagnosis harness lever, not a library
/// feature): <see cref="Update"/> after every optimizer step, <see cref="SwapIn"/> around an embedding pass.</summary>
internal sealed class WeightAverage
{
    private readonly (Tensor Live, float[] Average)[] _entries;
    private readonly double _decay;
    private readonly long _start;
    private bool _started;

    public WeightAverage(Module module, double decay, long start)
    {
        if (!(decay > 0 && decay < 1)) throw new ArgumentOutOfRangeException(nameof(decay), decay, "ema= must be in (0, 1).");
        _entries = module.StateEntries().Select(e => (e.Value, e.Value.ToArray())).ToArray();
        (_decay, _start) = (decay, start);
    }

    /// <summary>Folds the weights after step <paramref name="step"/> in (from the start step on; before it, tracks them).</summary>
    public void Update(long step)
    {
        float a = step <= _start || !_started ? 0f : (float)_decay;
        if (step >= _start) _started = true;
        foreach (var (live, avg) in _entries)
        {
            var w = live.Data;
            for (int i = 0; i < avg.Length; i++) avg[i] = a * avg[i] + (1 - a) * w[i];
        }
    }

    /// <summary>Puts the averaged weights in the module until the returned scope is disposed.</summary>
    public IDisposable SwapIn()
    {
        var saved = _entries.Select(e => e.Live.ToArray()).ToArray();
        foreach (var (live, avg) in _entries) avg.CopyTo(live.Data);
        return new Restore(_entries, saved);
    }

    private sealed class Restore((Tensor Live, float[] Average)[] entries, float[][] saved) : IDisposable
    {
        public void Dispose()
        {
            for (int i = 0; i < entries.Length; i++) saved[i].CopyTo(entries[i].Live.Data);
        }
    }
}
