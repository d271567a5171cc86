"""What MLflow stores as the code of every logged GFlowNet ("models from code", no pickle).

MLflow copies this file into the model and runs it on load; it names the wrapper class, whose
code comes from the installed ``emily`` package. Not imported by the package itself.
"""

from mlflow.models import set_model

from emily.ops.registry._pyfunc import GFlowNetPyfunc

set_model(GFlowNetPyfunc())
