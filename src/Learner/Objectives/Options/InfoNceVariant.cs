namespace Learner.Objectives.Options;

/// <summary>Which InfoNCE formulation <see cref="InfoNceLoss"/> computes.</summary>
public enum InfoNceVariant
{
    /// <summary>Each scan's first view against all second views: CE(u_i·v_k/τ, k = i) (van den Oord et al. 2018; MoCo/CLIP one direction).</summary>
    CrossView,
    /// <summary>The mean of both directions, views 1→2 and 2→1 (CLIP).</summary>
    Symmetric,
    /// <summary>NT-Xent over the 2B views, other views of every scan as negatives (SimCLR, Chen et al. 2020).</summary>
    NtXent,
}
