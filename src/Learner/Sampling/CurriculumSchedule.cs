using System.Globalization;

namespace Learner.Sampling;

/// <summary>
/// A coarse-to-fine curriculum: the score gap required of negative pairs at each epoch. It starts large (easy,
/// clearly different patients) and shrinks toward the fine-grained gap. The built-in schedules are non-increasing
/// in the epoch and reach the end gap at epoch <c>epochs − 1</c>, staying there afterwards.
/// </summary>
/// <remarks>The built-in schedules are immutable and safe to share between threads; a <c>Custom</c> schedule is as thread-safe as its delegate.</remarks>
public abstract class CurriculumSchedule
{
    /// <summary>The gap required of negatives at <paramref name="epoch"/> (0-based).</summary>
    /// <param name="epoch">The epoch; ≥ 0.</param>
    /// <returns>A finite, positive gap.</returns>
    public abstract double GapAt(int epoch);

    /// <summary>Linear decrease from <paramref name="startGap"/> to <paramref name="endGap"/> over <paramref name="epochs"/> epochs.</summary>
    /// <param name="startGap">Gap at epoch 0.</param>
    /// <param name="endGap">Gap from epoch <paramref name="epochs"/> − 1 on (the fine-grained gap).</param>
    /// <param name="epochs">Length of the decrease.</param>
    /// <returns>The schedule.</returns>
    public static CurriculumSchedule Linear(double startGap, double endGap, int epochs) => new Interpolated(startGap, endGap, epochs, p => p, "linear");

    /// <summary>Half-cosine decrease: slow at first and last, fastest in the middle.</summary>
    /// <param name="startGap">Gap at epoch 0.</param>
    /// <param name="endGap">Gap from epoch <paramref name="epochs"/> − 1 on.</param>
    /// <param name="epochs">Length of the decrease.</param>
    /// <returns>The schedule.</returns>
    public static CurriculumSchedule Cosine(double startGap, double endGap, int epochs) => new Interpolated(startGap, endGap, epochs, p => 0.5 * (1 - Math.Cos(Math.PI * p)), "cosine");

    /// <summary>Piecewise-constant decrease in <paramref name="steps"/> equal drops.</summary>
    /// <param name="startGap">Gap at epoch 0.</param>
    /// <param name="endGap">Gap from epoch <paramref name="epochs"/> − 1 on.</param>
    /// <param name="epochs">Length of the decrease.</param>
    /// <param name="steps">Number of drops (≥ 1).</param>
    /// <returns>The schedule.</returns>
    public static CurriculumSchedule Step(double startGap, double endGap, int epochs, int steps)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "A step schedule needs at least one step.");
        return new Interpolated(startGap, endGap, epochs, p => Math.Floor(p * steps + 1e-9) / steps, "step");
    }

    /// <summary>A constant gap (no curriculum).</summary>
    /// <param name="gap">The gap.</param>
    /// <returns>The schedule.</returns>
    public static CurriculumSchedule Constant(double gap) => new Interpolated(gap, gap, 1, p => p, "constant");

    /// <summary>A user-defined schedule. Its values are checked when used: each must be finite and positive.</summary>
    /// <param name="gapAtEpoch">The gap for each epoch.</param>
    /// <returns>The schedule.</returns>
    public static CurriculumSchedule Custom(Func<int, double> gapAtEpoch) => new Delegated(gapAtEpoch ?? throw new ArgumentNullException(nameof(gapAtEpoch)));

    private static void CheckGap(double gap, string name)
    {
        if (!(gap > 0) || !double.IsFinite(gap)) throw new ArgumentOutOfRangeException(name, gap, "A curriculum gap must be finite and positive.");
    }

    private sealed class Interpolated : CurriculumSchedule
    {
        private readonly double _start, _end;
        private readonly int _epochs;
        private readonly Func<double, double> _shape;
        private readonly string _name;

        public Interpolated(double start, double end, int epochs, Func<double, double> shape, string name)
        {
            CheckGap(start, nameof(start));
            CheckGap(end, nameof(end));
            if (end > start) throw new ArgumentException($"A coarse-to-fine curriculum shrinks the gap: the end gap {end.ToString(CultureInfo.InvariantCulture)} exceeds the start gap {start.ToString(CultureInfo.InvariantCulture)}.");
            if (epochs < 1) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "A curriculum needs at least one epoch.");
            (_start, _end, _epochs, _shape, _name) = (start, end, epochs, shape, name);
        }

        public override double GapAt(int epoch)
        {
            if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), epoch, "Epochs count from 0.");
            double p = _epochs <= 1 ? 1 : Math.Min(1.0, (double)epoch / (_epochs - 1));
            if (p >= 1) return _end;
            double gap = _start + (_end - _start) * _shape(p);
            return Math.Clamp(gap, _end, _start);
        }

        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{_name} curriculum {_start:G6} → {_end:G6} over {_epochs} epochs");
    }

    private sealed class Delegated(Func<int, double> f) : CurriculumSchedule
    {
        public override double GapAt(int epoch)
        {
            if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), epoch, "Epochs count from 0.");
            double g = f(epoch);
            if (!(g > 0) || !double.IsFinite(g))
                throw new InvalidOperationException($"The custom curriculum returned gap {g.ToString(CultureInfo.InvariantCulture)} at epoch {epoch}; gaps must be finite and positive.");
            return g;
        }

        public override string ToString() => "custom curriculum";
    }
}
