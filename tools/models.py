"""Torch definitions of every cnngen built-in network.

Parameter names are torchvision's state_dict keys (for the two networks that
torchvision does not have, the keys are the attribute names below).
Used by tools/make_goldens.py; needs Debian's python3-torch/python3-torchvision
(torch 1.13, torchvision 0.14).
"""
import torch
import torch.nn as nn
import torchvision.models as tvm


class LeNet5(nn.Module):
    """LeNet-5 (LeCun 1998): conv5x5(pad 2) -> relu -> pool2 -> conv5x5 -> relu -> pool2
    -> FC120 -> relu -> FC84 -> relu -> FC10. Input 1x28x28."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


class AlexNet2012(nn.Module):
    """AlexNet as in Krizhevsky, Sutskever, Hinton 2012 (two-GPU grouping kept as
    groups=2 on conv2/4/5, local response normalisation after conv1/conv2).
    Input 3x227x227, 60,965,224 parameters."""

    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 96, 11, stride=4)
        self.conv2 = nn.Conv2d(96, 256, 5, padding=2, groups=2)
        self.conv3 = nn.Conv2d(256, 384, 3, padding=1)
        self.conv4 = nn.Conv2d(384, 384, 3, padding=1, groups=2)
        self.conv5 = nn.Conv2d(384, 256, 3, padding=1, groups=2)
        self.fc6 = nn.Linear(256 * 6 * 6, 4096)
        self.fc7 = nn.Linear(4096, 4096)
        self.fc8 = nn.Linear(4096, num_classes)
        self.lrn = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)
        self.pool = nn.MaxPool2d(3, 2)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        x = self.pool(self.lrn(torch.relu(self.conv1(x))))
        x = self.pool(self.lrn(torch.relu(self.conv2(x))))
        x = torch.relu(self.conv3(x))
        x = torch.relu(self.conv4(x))
        x = self.pool(torch.relu(self.conv5(x)))
        x = torch.flatten(x, 1)
        x = self.drop(torch.relu(self.fc6(x)))
        x = self.drop(torch.relu(self.fc7(x)))
        return self.fc8(x)


def _googlenet():
    # aux heads exist (their weights are in the state_dict) but are not run in eval mode.
    return tvm.googlenet(weights=None, aux_logits=True, transform_input=True, init_weights=False)


# name -> (constructor, input shape [C,H,W], golden batch size)
MODELS = {
    "lenet5": (LeNet5, (1, 28, 28), 2),
    "alexnet2012": (AlexNet2012, (3, 227, 227), 2),
    "alexnet": (lambda: tvm.alexnet(weights=None), (3, 224, 224), 2),
    "vgg16": (lambda: tvm.vgg16(weights=None), (3, 224, 224), 1),
    "vgg19": (lambda: tvm.vgg19(weights=None), (3, 224, 224), 1),
    "googlenet": (_googlenet, (3, 224, 224), 2),
    "resnet18": (lambda: tvm.resnet18(weights=None), (3, 224, 224), 2),
    "resnet34": (lambda: tvm.resnet34(weights=None), (3, 224, 224), 1),
    "resnet50": (lambda: tvm.resnet50(weights=None), (3, 224, 224), 1),
    "resnet101": (lambda: tvm.resnet101(weights=None), (3, 224, 224), 1),
    "resnet152": (lambda: tvm.resnet152(weights=None), (3, 224, 224), 1),
    "efficientnet_b0": (lambda: tvm.efficientnet_b0(weights=None), (3, 224, 224), 2),
}

# Parameter counts (sum of p.numel() over model.parameters()), excluding and
# including auxiliary heads. Known values from the papers / torchvision docs.
KNOWN_PARAMS = {
    "lenet5": (61706, 61706),
    "alexnet2012": (60965224, 60965224),
    "alexnet": (61100840, 61100840),
    "vgg16": (138357544, 138357544),
    "vgg19": (143667240, 143667240),
    "googlenet": (6624904, 13004888),
    "resnet18": (11689512, 11689512),
    "resnet34": (21797672, 21797672),
    "resnet50": (25557032, 25557032),
    "resnet101": (44549160, 44549160),
    "resnet152": (60192808, 60192808),
    "efficientnet_b0": (5288548, 5288548),
}


def is_aux(key):
    """State-dict keys of auxiliary (training-only) heads."""
    return key.startswith("aux1.") or key.startswith("aux2.")


def build(name):
    ctor, shape, batch = MODELS[name]
    return ctor(), shape, batch


def param_counts(model):
    """(params excluding aux heads, params including aux heads)."""
    total = 0
    main = 0
    for k, p in model.named_parameters():
        total += p.numel()
        if not is_aux(k):
            main += p.numel()
    return main, total
