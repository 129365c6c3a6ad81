"""fastkeras.layers: tf.keras layer names, arguments and defaults."""
from fastkeras.layers.base import Input, InputLayer, InputSpec, KerasTensor, Layer
from fastkeras.layers.core import (Activation, Dense, Dropout, Embedding, Flatten, Identity,
                                   Lambda, Masking, Permute, RepeatVector, Reshape)
from fastkeras.layers.convolutional import (
    AveragePooling1D, AveragePooling2D, AveragePooling3D, Conv1D, Conv1DTranspose, Conv2D,
    Conv2DTranspose, Conv3D, Conv3DTranspose, Cropping1D, Cropping2D, Cropping3D,
    DepthwiseConv1D, DepthwiseConv2D, GlobalAveragePooling1D, GlobalAveragePooling2D,
    GlobalAveragePooling3D, GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D,
    MaxPooling1D, MaxPooling2D, MaxPooling3D, SeparableConv1D, SeparableConv2D, UpSampling1D,
    UpSampling2D, UpSampling3D, ZeroPadding1D, ZeroPadding2D, ZeroPadding3D)
from fastkeras.layers.normalization import BatchNormalization, LayerNormalization
from fastkeras.layers.merging import (ELU, Add, Average, Concatenate, Dot, LeakyReLU, Maximum,
                                      Minimum, Multiply, PReLU, ReLU, Softmax, Subtract, add,
                                      average, concatenate, dot, maximum, minimum, multiply,
                                      subtract)
from fastkeras.layers.recurrent import (GRU, LSTM, RNN, GRUCell, LSTMCell, SimpleRNN,
                                        SimpleRNNCell, StackedRNNCells)
from fastkeras.layers.rnn_wrappers import Bidirectional, TimeDistributed
from fastkeras.layers.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from fastkeras.layers.attention import AdditiveAttention, Attention, MultiHeadAttention
from fastkeras.layers.noise import (ActivityRegularization, AlphaDropout, GaussianDropout,
                                   GaussianNoise, SpatialDropout1D, SpatialDropout2D,
                                   SpatialDropout3D)
from fastkeras.layers.group_normalization import GroupNormalization, UnitNormalization
from fastkeras.layers.wrapper import Wrapper
from fastkeras.layers.preprocessing import (CategoryEncoding, Discretization, Hashing,
                                            IntegerLookup, Normalization, Rescaling,
                                            StringLookup)
from fastkeras.layers.text_vectorization import TextVectorization
from fastkeras.layers.image_preprocessing import (CenterCrop, RandomBrightness, RandomContrast,
                                                  RandomCrop, RandomFlip, RandomRotation,
                                                  RandomTranslation, RandomZoom, Resizing)

# tf.keras aliases
MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = (GlobalAveragePooling1D,
                                                     GlobalAveragePooling2D,
                                                     GlobalAveragePooling3D)
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = (GlobalMaxPooling1D, GlobalMaxPooling2D,
                                                     GlobalMaxPooling3D)
Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
Convolution2DTranspose = Conv2DTranspose
SeparableConvolution2D = SeparableConv2D

__all__ = [name for name in dir() if not name.startswith("_") and name[0].isupper()
           or name in ("add", "average", "concatenate", "dot", "maximum", "minimum",
                       "multiply", "subtract")]
