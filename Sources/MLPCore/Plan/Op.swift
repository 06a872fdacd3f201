// The ops of an execution plan: `StepOp` (defined once, with the kernels) over buffer ids. The
// plan compiler checks every operand's shape when it emits an op; the executor binds each op to
// arena pointers once. `rows` (≤ batch size), the step number and the learning rate are
// supplied at run time, so the last, partial batch of an epoch and every scheduled rate run over
// the same plan.

/// One step of forward, loss, backward or update, naming its buffers by id.
public typealias Op = StepOp<BufferID>
