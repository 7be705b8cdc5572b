namespace Learner.Objectives;

/// <summary>
/// An objective whose <see cref="ObjectiveResult.Parts"/> and <see cref="ObjectiveResult.Mining"/> cost extra work to
/// report — a device objective copies each part from the device, one synchronisation each. A training loop sets
/// <see cref="ReportsDetails"/> to false when nothing consumes them (the pretrainer does when it has no progress sink);
/// the loss, its terms and the gradients are the same either way.
/// </summary>
public interface IDetailReporting
{
    /// <summary>Whether results carry the parts and the mining statistics (default true); when false they are empty.</summary>
    bool ReportsDetails { get; set; }
}
