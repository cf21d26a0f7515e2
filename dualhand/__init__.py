__version__ = "0.1.0"

import warnings
# torchvision's import calls torch.jit.script, which recent torch deprecates: an upstream warning, nothing a user can act on
warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
