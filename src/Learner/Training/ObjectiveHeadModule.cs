using Learner.Nn;
using Learner.Nn.Modules;
using Learner.Objectives;

namespace Learner.Training;

/// <summary>The objective's head parameters as a module, so they checkpoint like any model.</summary>
internal sealed class ObjectiveHeadModule : Module
{
    public ObjectiveHeadModule(IReadOnlyList<ObjectiveParameter> parameters)
    {
        foreach (var p in parameters) RegisterParameter(p.Name.Replace('.', '_'), p.Value);
    }

    public override Tensor Forward(Tensor input) => throw new NotSupportedException("An objective head is not run as a module.");
}
