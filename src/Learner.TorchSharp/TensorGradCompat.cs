using System.Reflection;
using TTensor = TorchSharp.torch.Tensor;

namespace Learner.TorchSharp;

/// <summary>
/// <c>Tensor.grad</c> across TorchSharp versions: a method <c>grad()</c> up to 0.102.5, a get/set property
/// <c>grad</c> from 0.102.6 on. Binds once to whichever exists; each call returns a new handle (dispose it) or null.
/// </summary>
internal static class TensorGradCompat
{
    private static readonly Func<TTensor, TTensor?> Getter = Bind();

    private static Func<TTensor, TTensor?> Bind()
    {
        MethodInfo getter =
            typeof(TTensor).GetProperty("grad", BindingFlags.Public | BindingFlags.Instance)?.GetMethod
            ?? typeof(TTensor).GetMethod("grad", BindingFlags.Public | BindingFlags.Instance, Type.EmptyTypes)
            ?? throw new MissingMemberException(typeof(TTensor).FullName, "grad");
        return (Func<TTensor, TTensor?>)Delegate.CreateDelegate(typeof(Func<TTensor, TTensor?>), getter);
    }

    /// <summary>The gradient of <paramref name="tensor"/> (a new handle the caller disposes), or null when none.</summary>
    public static TTensor? GradOrNull(this TTensor tensor) => Getter(tensor);
}
