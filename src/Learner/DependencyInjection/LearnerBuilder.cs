using Learner.Encoders;
using Learner.Objectives.Options;
using Learner.Experiments;
using Learner.Objectives;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// What <see cref="LearnerServiceCollectionExtensions.AddLearner(IServiceCollection, Action{ExperimentOptions}?)"/>
/// returns: the rest of Learner's setup as calls on one object, in any order — objectives of your own, more settings,
/// and a compute backend (<c>UseTorchSharp()</c> from Learner.TorchSharp, or <see cref="UseBackend"/>).
/// </summary>
/// <example><code>
/// services.AddLearner(configuration.GetSection("Learner"))
///     .AddObjective&lt;MyLossOptions&gt;("my-loss", o => new MyLoss(o ?? new MyLossOptions()))
///     .UseTorchSharp(o => o.Device = "cuda");
/// </code></example>
public sealed class LearnerBuilder
{
    internal LearnerBuilder(IServiceCollection services) => Services = services;

    /// <summary>The container Learner is registered in.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Registers an objective under <paramref name="name"/> in the container's <see cref="ObjectiveRegistry"/>, so
    /// that objective specs (<c>ExperimentOptions.Objectives</c>, <c>PretrainerFactory.Create</c>) can name it.</summary>
    /// <typeparam name="TOptions">Its options type (the spec's options bind to it).</typeparam>
    /// <param name="name">The registry name, e.g. <c>"my-loss"</c>.</param>
    /// <param name="factory">Builds the objective from its options (null for the defaults).</param>
    /// <returns>This builder.</returns>
    public LearnerBuilder AddObjective<TOptions>(string name, Func<TOptions?, IObjective> factory) where TOptions : ObjectiveOptions
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        Services.AddSingleton(new ObjectiveRegistration(r => r.Register(name, factory)));
        return this;
    }

    /// <summary>Adjusts the experiment settings after those given to <c>AddLearner</c> (and after configuration binding).</summary>
    /// <param name="configure">The adjustment.</param>
    /// <returns>This builder.</returns>
    public LearnerBuilder Configure(Action<ExperimentOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        Services.Configure(configure);
        return this;
    }

    /// <summary>Builds the encoders and objectives with <paramref name="backend"/> instead of the managed engine.</summary>
    /// <param name="backend">The backend.</param>
    /// <returns>This builder.</returns>
    public LearnerBuilder UseBackend(ComputeBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        Services.Replace(ServiceDescriptor.Singleton(backend));
        return this;
    }

    /// <summary>One objective registration, applied to the registry when it is first resolved.</summary>
    internal sealed class ObjectiveRegistration(Action<ObjectiveRegistry> apply)
    {
        public void Apply(ObjectiveRegistry registry) => apply(registry);
    }
}
