using System.Runtime.ExceptionServices;
using Learner.Data;
using Learner.Nn;
using Learner.Objectives;

namespace Learner.Training;

/// <summary>
/// Assembles the pretrainer's next batch on a background thread while the current step computes: step s+1 is drawn
/// from the batch source and its payloads loaded and augmented (exactly as the training thread would, with the step's
/// forked generators) into one reused slot; the training thread takes it at step s+1.
/// </summary>
/// <remarks>
/// <para><b>Deterministic.</b> The slot is filled strictly in step order by one thread, the source is moved with
/// <see cref="IPretrainingBatchSource.BeginEpoch"/> at the same steps, and every random choice comes from the step's
/// generators, so the batches are the same bits as without prefetching.</para>
/// <para><b>Bounded.</b> One slot: the worker fills step s+1 only after the training thread has copied step s out, so it
/// is never more than one step ahead, and its storage (indices, pairs, triplets, one batch of values) is allocated once;
/// the training thread copies the values into a pooled tensor of its step's scope.</para>
/// <para><b>Errors and cancellation.</b> An exception while assembling step s is rethrown, with its type and stack, by
/// <see cref="Take"/> for step s — the step that would have consumed the batch — and the worker stops. <see cref="Dispose"/>
/// stops the worker and waits for the batch it is assembling (the run is cancelled between steps, as without prefetch).</para>
/// <para><b>Why a dedicated thread.</b> The worker must run <em>beside</em> the step's kernels. <c>WorkerPool</c>, the
/// engine's one parallel runtime, runs one job at a time and the step keeps it busy, so a job queued there would wait for
/// the step instead of overlapping it; the thread pool would add the spinning second runtime the engine removed. The
/// worker sleeps on a monitor between batches; its own kernels (augmentation) run on the calling thread whenever the
/// pool is busy, which changes no bit.</para>
/// </remarks>
internal sealed class BatchPrefetcher : IDisposable
{
    private readonly IPretrainingBatchSource _source;
    private readonly LongitudinalDataset _dataset;
    private readonly int _views;
    private readonly AugmentationOptions? _augmentation;
    private readonly Rng _baseRng;
    private readonly Rng _augmentRng;
    private readonly Func<Tensor, int, Tensor>? _augmentCopy; // one delegate for the run: no closure per step
    private Rng? _stepAugmentRng;
    private readonly long _stepsPerEpoch;
    private readonly long _first;
    private readonly long _end;
    private readonly int[] _scans;
    private readonly IndexPair[] _pairs;
    private readonly IndexTriplet[] _triplets;
    private readonly object _gate = new();
    private readonly Thread _thread;
    private float[] _input = [];
    private int[] _inputShape = [];
    private BatchDraw _draw;
    private ExceptionDispatchInfo? _error;
    private long _slotStep = -1;
    private bool _full;
    private bool _stop;

    /// <summary>Starts the worker at <paramref name="firstStep"/>; it fills steps up to <paramref name="endStep"/> (exclusive).</summary>
    public BatchPrefetcher(IPretrainingBatchSource source, LongitudinalDataset dataset, int views, AugmentationOptions? augmentation,
        Rng baseRng, Rng augmentRng, long stepsPerEpoch, long firstStep, long endStep)
    {
        _source = source;
        _dataset = dataset;
        _views = views;
        _augmentation = augmentation;
        _baseRng = baseRng;
        _augmentRng = augmentRng;
        _augmentCopy = augmentation is null ? null : AugmentCopy;
        _stepsPerEpoch = stepsPerEpoch;
        _first = firstStep;
        _end = endStep;
        _scans = new int[source.MaxScans];
        _pairs = new IndexPair[source.MaxPairs];
        _triplets = new IndexTriplet[source.MaxTriplets];
        _thread = new Thread(Run) { IsBackground = true, Name = "Learner batch prefetch" };
        _thread.Start();
    }

    /// <summary>Takes step <paramref name="step"/>'s batch: its draw into <paramref name="buffers"/> and its values as a new
    /// tensor of the current scope. Rethrows what assembling the batch threw.</summary>
    public Tensor Take(long step, PretrainingBatchBuffers buffers)
    {
        lock (_gate)
        {
            while (!_full) Monitor.Wait(_gate);
        }
        if (_slotStep != step) throw new InvalidOperationException($"The batch prefetcher holds step {_slotStep}, but step {step} was asked for; steps must be taken in order.");
        _error?.Throw();
        buffers.Set(_dataset, _draw, _scans, _pairs, _triplets);
        var input = Tensor.FromSpan(_input.AsSpan(0, (int)ShapeSize(_inputShape)), _inputShape);
        lock (_gate)
        {
            _full = false;
            Monitor.PulseAll(_gate);
        }
        return input;
    }

    private static long ShapeSize(int[] shape)
    {
        long n = 1;
        foreach (int d in shape) n *= d;
        return n;
    }

    private void Run()
    {
        for (long step = _first; step < _end; step++)
        {
            lock (_gate)
            {
                while (_full && !_stop) Monitor.Wait(_gate);
                if (_stop) return;
            }
            ExceptionDispatchInfo? error = null;
            try { Fill(step); }
            catch (Exception e) { error = ExceptionDispatchInfo.Capture(e); }
            lock (_gate)
            {
                _error = error;
                _slotStep = step;
                _full = true;
                Monitor.PulseAll(_gate);
            }
            if (error is not null) return;
        }
    }

    private void Fill(long step)
    {
        if (step % _stepsPerEpoch == 0 || step == _first) _source.BeginEpoch((int)(step / _stepsPerEpoch));
        _draw = _source.Draw(_scans, _pairs, _triplets, _baseRng.Fork((ulong)step));
        // A draw outside the source's maxima or the dataset is left for the training thread's buffers to refuse by name.
        if (_draw.Scans < 1 || _draw.Scans > _scans.Length) return;
        foreach (int index in _scans.AsSpan(0, _draw.Scans))
            if ((uint)index >= (uint)_dataset.ScanCount) return;
        _stepAugmentRng = _augmentRng.Fork((ulong)step);
        using var scope = TensorScope.Begin();
        _inputShape = _augmentCopy is null
            ? _dataset.LoadBatchInto(_scans.AsSpan(0, _draw.Scans), 1, null, ref _input, _scans.Length)
            : _dataset.LoadBatchInto(_scans.AsSpan(0, _draw.Scans), _views, _augmentCopy, ref _input, _views * _scans.Length);
    }

    /// <summary>Augments copy <paramref name="copy"/> of a scan with the current step's stream.</summary>
    private Tensor AugmentCopy(Tensor x, int copy) => Augment.ApplyToCopy(x, _stepAugmentRng!, copy, _scans.AsSpan(0, _draw.Scans), _dataset, _augmentation!);

    /// <summary>Stops the worker and waits for it.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _stop = true;
            Monitor.PulseAll(_gate);
        }
        _thread.Join();
    }
}
