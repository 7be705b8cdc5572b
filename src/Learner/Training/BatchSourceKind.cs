namespace Learner.Training;

/// <summary>Which built-in <see cref="IPretrainingBatchSource"/> a <see cref="BatchSourceOptions"/> creates.</summary>
public enum BatchSourceKind
{
    /// <summary>P × K patient batches (<see cref="PatientBatchSource"/> over a <see cref="Sampling.PatientBatchSampler"/>);
    /// pair objectives use every in-batch pair. Works with label-only datasets.</summary>
    PatientBatches,

    /// <summary>LEARNER's inter-patient pairs with a coarse-to-fine curriculum (<see cref="InterPatientPairSource"/>). Needs scores.</summary>
    InterPatientPairs,

    /// <summary>Inter-patient (anchor, positive, negative) triplets (<see cref="TripletBatchSource"/> over an
    /// <see cref="Sampling.InterPatientTripletSampler"/>, random selection). Needs scores.</summary>
    InterPatientTriplets,
}
