using Learner.Encoders;
using Learner.Nn;

namespace Learner.Tests.Encoders;

/// <summary>An encoder that forwards every member of the seam to another one; tests derive from it to record or decorate
/// calls. It implements only the members an encoder written against the original seam has (the default interface
/// methods stay at their defaults).</summary>
internal class DelegatingEncoder(IEncoder inner) : IEncoder
{
    protected IEncoder Inner { get; } = inner;

    public virtual string Name => Inner.Name;
    public int EmbeddingDimension => Inner.EmbeddingDimension;
    public long ParameterCount => Inner.ParameterCount;
    public bool Training => Inner.Training;
    public void SetTraining(bool training) => Inner.SetTraining(training);
    public virtual void Forward(Tensor input, Span<float> embeddings, bool requiresGrad) => Inner.Forward(input, embeddings, requiresGrad);
    public void Backward(ReadOnlySpan<float> embeddingGradient) => Inner.Backward(embeddingGradient);
    public void DiscardGraph() => Inner.DiscardGraph();
    public IEncoderOptimizer CreateOptimizer(EncoderOptimizerOptions options) => Inner.CreateOptimizer(options);
    public void Save(string path, IEncoderOptimizer? optimizer = null, IReadOnlyDictionary<string, string>? metadata = null) => Inner.Save(path, optimizer, metadata);
    public IReadOnlyDictionary<string, string> Load(string path, IEncoderOptimizer? optimizer = null, bool strict = true) => Inner.Load(path, optimizer, strict);
}
