using Learner.Nn;

namespace Learner.Nn.Tests;

/// <summary>
/// Central finite-difference gradient checks for float32 operations. The objective is a random projection
/// L = Σ w ⊙ f(inputs), evaluated in double from the float32 outputs, so every output element contributes.
/// </summary>
public static class GradCheck
{
    /// <summary>Checks the analytic gradient of every input that requires gradients against central differences.</summary>
    /// <param name="f">The function under test.</param>
    /// <param name="inputs">Inputs; those with RequiresGrad are checked.</param>
    /// <param name="seed">Seed for the projection weights.</param>
    /// <param name="eps">Finite-difference step.</param>
    /// <param name="atol">Absolute tolerance.</param>
    /// <param name="rtol">Relative tolerance.</param>
    public static void Check(Func<Tensor[], Tensor> f, Tensor[] inputs, int seed = 1, float eps = 1e-2f, double atol = 2e-3, double rtol = 2e-2)
    {
        var rng = new Rng(seed);
        var y = f(inputs);
        var w = Tensor.Uniform(rng, -1f, 1f, y.ShapeArray);
        foreach (var x in inputs) x.Grad = null;
        var loss = Ops.Sum(Ops.Mul(y, w));
        loss.Backward();

        double Objective()
        {
            using var ng = Autograd.NoGrad();
            var yy = f(inputs);
            double s = 0;
            var yd = yy.Data; var wd = w.Data;
            for (int i = 0; i < yd.Length; i++) s += (double)yd[i] * wd[i];
            return s;
        }

        for (int k = 0; k < inputs.Length; k++)
        {
            var x = inputs[k];
            if (!x.RequiresGrad) continue;
            x.Grad.Should().NotBeNull($"input {k} requires grad");
            var analytic = x.Grad!.ToArray();
            var data = x.Data;
            for (int i = 0; i < data.Length; i++)
            {
                float orig = data[i];
                data[i] = orig + eps; double lp = Objective();
                data[i] = orig - eps; double lm = Objective();
                data[i] = orig;
                double numeric = (lp - lm) / (2 * eps);
                double diff = Math.Abs(numeric - analytic[i]);
                if (diff > atol + rtol * Math.Abs(numeric))
                    throw new Xunit.Sdk.XunitException($"Gradient mismatch for input {k} at flat index {i} (shape {string.Join('x', x.ShapeArray)}): analytic {analytic[i]:G6}, numeric {numeric:G6}.");
            }
        }
    }

    /// <summary>A random tensor that requires gradients.</summary>
    /// <param name="rng">Generator.</param>
    /// <param name="shape">Shape.</param>
    /// <returns>The tensor.</returns>
    public static Tensor Param(Rng rng, params int[] shape) => Tensor.Uniform(rng, -1f, 1f, shape).RequireGrad();
}
