"""Registry of public data files: relative path (the layout of ``../shared/data`` and of a fetch
destination), size in bytes and sha256, per source, plus each source's upstream URL.

Download URLs: with a mirror base URL (``--base-url``, ``$GENARCH_<SOURCE>_URL`` or ``$GENARCH_DATA_URL``)
a file is ``<base>/<path>`` (the mirror holds the same layout as ``../shared/data``). Without one, the
source's ``upstream`` base is used with the upstream file name (``upstream_name``). The sha256 values
were computed from the files in ``../shared/data`` (``python -m genarch.data verify`` re-verifies).
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Optional

# Upstream public locations. DeepBind's ENCODE files are distributed flat (``<experiment>_AC.seq.gz``,
# ``<experiment>_B.seq.gz``) in DeepBind's supplementary code release and its public GitHub mirrors;
# the GUE benchmark is one Google Drive archive (no per-file URLs), so it is fetched from a mirror only.
UPSTREAM: dict[str, Optional[str]] = {
    "deepbind_encode": "https://raw.githubusercontent.com/MedChaabane/DeepBind-with-PyTorch/master/data/encode",
    "gue": None,
    "vaishnav_yeast": None,
    "lentimpra": None,
    "dream2022": None,
    "aitac": None,
}

FILES: dict[str, list[tuple[str, int, str]]] = {
    'deepbind_encode': [
        ('tfbs/deepbind_encode/test/ARID3A_HepG2_ARID3A_(NB100-279)_Stanford_B.seq.gz', 34546, '1c4c7f829cbb82426e789fe5133975d3f9bca9a3af4a3af95f1ac899d8d67df9'),
        ('tfbs/deepbind_encode/test/ARID3A_K562_ARID3A_(sc-8821)_Stanford_B.seq.gz', 34814, 'aad6ee8ac42ea66791897a447ad01252f26955d2dd8b5a7865f2c233db807c09'),
        ('tfbs/deepbind_encode/test/CTCFL_K562_CTCFL_(SC-98982)_HudsonAlpha_B.seq.gz', 33265, '707696ec7ca64695e6435859c558940bd86ba8dea836a31cf807386eba383b97'),
        ('tfbs/deepbind_encode/test/ELK1_GM12878_ELK1_(1277-1)_Stanford_B.seq.gz', 34350, '5eec8cc3d433dfcadb5cf1d23919e5ee6896e6479af52f756adcbd461fe6b805'),
        ('tfbs/deepbind_encode/test/FOXA1_HepG2_FOXA1_(SC-101058)_HudsonAlpha_B.seq.gz', 34373, '4634d4a688627cb2009e8598e7ad67687d37d14205daaedb8e96f6705d9e530c'),
        ('tfbs/deepbind_encode/test/FOXM1_GM12878_FOXM1_(SC-502)_HudsonAlpha_B.seq.gz', 34662, 'cb23f0b99348c3ce3bab2c4b6f75d7f903cee197dd2023fbc26ea82830782291'),
        ('tfbs/deepbind_encode/test/GABPA_GM12878_GABP_HudsonAlpha_B.seq.gz', 33969, 'b3f4da33cd690a3d72bb0033e3d4b5e9eec25405669fd521938b3c7e50ffbe15'),
        ('tfbs/deepbind_encode/test/GATA3_SH-SY5Y_GATA3_(SC-269)_USC_B.seq.gz', 34339, '8cc03f18b5a3b1db00dfa6c98d5212fb1612c33dfbe90de43e3aa3699a19c76b'),
        ('tfbs/deepbind_encode/test/MYC_H1-hESC_c-Myc_Stanford_B.seq.gz', 34255, '5d5d44a679c2ca2b8efa2e6d183172c1d1d4519b0325c4f56c9ede0ab2bc453d'),
        ('tfbs/deepbind_encode/test/REST_GM12878_NRSF_HudsonAlpha_B.seq.gz', 33837, '63aba192660e35154421b66f8129aeb449027bb1af25ff7903069fee861d679d'),
        ('tfbs/deepbind_encode/test/SP1_GM12878_SP1_HudsonAlpha_B.seq.gz', 34553, '8ef012ed4a8818ebcb0c46f126b0523825170e6d6f2af9f876b6beb4a7f36594'),
        ('tfbs/deepbind_encode/test/USF1_HepG2_USF-1_HudsonAlpha_B.seq.gz', 34091, '999b5f5d920c73f1e6229f2a6704d8fbf7e8c73e2359686402cbecfe93d39696'),
        ('tfbs/deepbind_encode/test/ZBTB7A_HepG2_ZBTB7A_(SC-34508)_HudsonAlpha_B.seq.gz', 33606, '998ab846950b28f61a20b28dc6fe86c9d143c847965f4edced9a953b7e7fe9a8'),
        ('tfbs/deepbind_encode/test_only/BCLAF1_K562_BCLAF1_(SC-101388)_HudsonAlpha_B.seq.gz', 34805, 'd20cb17103810d46e2810f0df58edae0117e23304516726506b1e366beecef5e'),
        ('tfbs/deepbind_encode/test_only/CTCF_NH-A_CTCF_Broad_B.seq.gz', 34587, '983114a084d23102f3caab4420119cc477f5a7ee744bfddccde0843f2e8ac53e'),
        ('tfbs/deepbind_encode/test_only/POLR2A_A549_Pol2_UT-A_B.seq.gz', 33869, 'e95c54750ea51a44803144822705870a7085e63b436ed509a16700aadc78a2a8'),
        ('tfbs/deepbind_encode/test_only/RBBP5_H1-hESC_RBBP5_(A300-109A)_Broad_B.seq.gz', 34374, '11a0d84537fdf9cdab2f7ad4e7e44ad684895e2b34fa5b96b577610aaf72ad63'),
        ('tfbs/deepbind_encode/test_only/SAP30_K562_SAP30_(39731)_Broad_B.seq.gz', 34278, 'f9fcaa48946ffdcb97e1dc4c199750be67660838e954e5ced8bb3f6f9da026cc'),
        ('tfbs/deepbind_encode/test_only/STAT3_HeLa-S3_STAT3_Stanford_B.seq.gz', 34439, '58241d49f7100735a18e1b3a931e8ee951cf56dfe957f6ec589bb7eb6dc91992'),
        ('tfbs/deepbind_encode/train/ARID3A_HepG2_ARID3A_(NB100-279)_Stanford_AC.seq.gz', 575801, '8a45e540a8aabd5dc1990bbf5e1e7f49bb1e3822082e603cda2fd0e0036a7233'),
        ('tfbs/deepbind_encode/train/ARID3A_K562_ARID3A_(sc-8821)_Stanford_AC.seq.gz', 287699, '928d75f354dbadbb4f083cb298e85df6fa11f001afacd9d577c0d9c9ce831712'),
        ('tfbs/deepbind_encode/train/CTCFL_K562_CTCFL_(SC-98982)_HudsonAlpha_AC.seq.gz', 364744, '823589ed0c049dea20ed2a20b196d72ac63d76a04693bb2f43313e4a0c55c3da'),
        ('tfbs/deepbind_encode/train/ELK1_GM12878_ELK1_(1277-1)_Stanford_AC.seq.gz', 170519, '3e44bb851d81e1ea9a9f0c3a600574e4151bff8d510c8fc5d21e87b18715075f'),
        ('tfbs/deepbind_encode/train/FOXA1_HepG2_FOXA1_(SC-101058)_HudsonAlpha_AC.seq.gz', 1420038, 'd7444da917c588312ef6231785b8ef508cdbeb6f2550798fb0f101876b47b5bd'),
        ('tfbs/deepbind_encode/train/FOXM1_GM12878_FOXM1_(SC-502)_HudsonAlpha_AC.seq.gz', 754556, '60c9ca8c5a7ffc64d97b46f54677d055d054f32fbeb0a3ffbb4986910f27f784'),
        ('tfbs/deepbind_encode/train/GABPA_GM12878_GABP_HudsonAlpha_AC.seq.gz', 199708, '627505bae74920366a5b9b5125e7972b073f611f0bdb258c9d32b9c33bb7529b'),
        ('tfbs/deepbind_encode/train/GATA3_SH-SY5Y_GATA3_(SC-269)_USC_AC.seq.gz', 511917, 'a5d27aaedd5e52a6c226ae6690b0c00d4147ffe175b97196b04743007a2ce9c3'),
        ('tfbs/deepbind_encode/train/MYC_H1-hESC_c-Myc_Stanford_AC.seq.gz', 135908, 'a12d118206d0f4f0d41712313ebc95606fffaee5249709c5f48c39dfdd980cde'),
        ('tfbs/deepbind_encode/train/REST_GM12878_NRSF_HudsonAlpha_AC.seq.gz', 212992, 'b5063130dc151f7529f3f02fe1d89ff7d9175a559f6151a72a7927ee217e1ca9'),
        ('tfbs/deepbind_encode/train/SP1_GM12878_SP1_HudsonAlpha_AC.seq.gz', 594152, '131c5c30e277ea7e283b374fd78c362ab6fd7f9b1222322df33cf8f048254cbe'),
        ('tfbs/deepbind_encode/train/USF1_HepG2_USF-1_HudsonAlpha_AC.seq.gz', 711171, 'eb8fb406abe10b62075670c6a04b68757e46985fdb8efb386586e6974ef020a0'),
        ('tfbs/deepbind_encode/train/ZBTB7A_HepG2_ZBTB7A_(SC-34508)_HudsonAlpha_AC.seq.gz', 286181, 'b60c7d2de6a45864c11c17bbe2d1820fb8a004f973f9fd6a4d5287d012500d43'),
    ],
    'gue': [
        ('tfbs/gue/mouse/0/dev.csv', 84255, 'f44e2d3e29a778364d329cfef046deccdfb484c12af6dde7f04b7de8bcb8bf9a'),
        ('tfbs/gue/mouse/0/test.csv', 84255, 'e2c54b74410f1d263f9dcba371f0d50b5f207960673e385cd4b95989e3e6d6be'),
        ('tfbs/gue/mouse/0/train.csv', 673727, '6f507b130c5a94c63f4a36748da66579cd682a34f7296ab08e4805ee75091a35'),
        ('tfbs/gue/mouse/2/dev.csv', 34127, 'b05b11fc0ca80aff8191dc5560a309c35c5e1ca014af138ec2bb640e821a4e04'),
        ('tfbs/gue/mouse/2/test.csv', 34127, '09f08a1428c9e1b8076ad85582b5c302490fa05c86757c40470605cdfe047b50'),
        ('tfbs/gue/mouse/2/train.csv', 272495, '23dbd0ca3b6153ffc9028ab05034abdc61aaf618bfa2d93e86f4bce798a0efde'),
        ('tfbs/gue/mouse/3/dev.csv', 24871, 'f0324893df34769670ed0cf89c8a53023625453bc148f3ba7760bb5d2b7816ad'),
        ('tfbs/gue/mouse/3/test.csv', 24871, '5e11dfe263259e092161d1ec59cec751bcce3842a01fe421bf9746ba542335f1'),
        ('tfbs/gue/mouse/3/train.csv', 198031, '3e80c3c1d3b4ce20bb789cd7faa73c6749fab835d781afa061a3444f7c33a479'),
        ('tfbs/gue/mouse/4/dev.csv', 195847, '4188db6526f245ed2fdf5b0f1be42f9235a98376fdfa8c1443ab51b392240caf'),
        ('tfbs/gue/mouse/4/test.csv', 195847, 'c5f98f28edb7905d8bd6a02466e59f6ad7485ef83b93658badcbf752fe086732'),
        ('tfbs/gue/mouse/4/train.csv', 1566671, '3e1a394455359c4e192aa8bab20f00b136a491a77a59c7d893afdfea6702eb34'),
        ('tfbs/gue/tf/0/dev.csv', 104015, '17ff638046d146102a86b727adc9ddead9f1f1793577a38961e1f3319da7f738'),
        ('tfbs/gue/tf/0/test.csv', 104015, 'd29934d0df424a91ef70f6a62671d9d1c4661b485d7010983b49c8bcfba6aeab'),
        ('tfbs/gue/tf/0/train.csv', 3367327, '930080e019fb92961cbd71998839466c2fc4c34da8fc174999a2ed04ef46822f'),
        ('tfbs/gue/tf/1/dev.csv', 104015, 'fbffd591300e9ef192d131c139322cbe8e3fb87fae4f52236f64588d3975b8d1'),
        ('tfbs/gue/tf/1/test.csv', 104015, '8995d9d9176d56aa6e3a7014dfcf61ad45bc25a59fba1faca9864250ce42008a'),
        ('tfbs/gue/tf/1/train.csv', 3189903, '29dc3c962cc4e4d7161238bb4d0b84583f7794b246a622f81bf30e83e3ae8685'),
        ('tfbs/gue/tf/2/dev.csv', 104015, '002168deb50cebb8dc94a9268e220d0ffa49068e4d9ae28b5873b74ba287c4a1'),
        ('tfbs/gue/tf/2/test.csv', 104015, '78de7c31aea4393b98387f6768cc9144fc912c9391c6b20d27028e355a95c4f1'),
        ('tfbs/gue/tf/2/train.csv', 1976015, '7f7483c2179242b6f42dd3578640e1496478e56e627e8fabd2ac79e088b1cbaa'),
        ('tfbs/gue/tf/3/dev.csv', 104015, 'b878776f73bd503a371d1d8c0a77058da409ff3f3799901e017f764b07a0d0ef'),
        ('tfbs/gue/tf/3/test.csv', 104015, '56d8d76fdcf98c8a444b26794099ef26185872371f62a7565f602181dd533903'),
        ('tfbs/gue/tf/3/train.csv', 2838591, 'c4191038363919af593d4f68428e00e6320e3a35902575f1c5c0828954e25a88'),
        ('tfbs/gue/tf/4/dev.csv', 104015, '4a18b9d9a6a4f77f6978d251b784ab554c127aca89c9fdb4546d81c20a47c436'),
        ('tfbs/gue/tf/4/test.csv', 104015, '55f4ad82c52c7ced861c5df835e5b11e3b2b15d53f4d7743f47bda6b2844b980'),
        ('tfbs/gue/tf/4/train.csv', 1976015, '7b43fcec55a8ae0f44e826566be776984c37200a175c684ec2e68650aebd483c'),
    ],
    'vaishnav_yeast': [
        ('expression/vaishnav2022_yeast/LICENSE.source', 1061, 'c5b66cc5f4c7c3ca00592e0fc708d386498c80c1834cfcefe4827595714c1778'),
        ('expression/vaishnav2022_yeast/Native_complex.csv', 562658, '59d81b20739815108de4ecf095f78a96042685ee14ed32b95d3ae37242f569b0'),
        ('expression/vaishnav2022_yeast/Native_defined.csv', 564919, '87722d2accaa1a0543b2258e56bd37c71d4832bd24a8c5231df836bcb2417643'),
        ('expression/vaishnav2022_yeast/Random_complex.csv', 446804, 'd14fd0c396b1ff3687ad956f9163b1ae344c340fc5b9af79e99f2da818cae305'),
        ('expression/vaishnav2022_yeast/Random_defined.csv', 1932203, 'f76404dc7dd50a0dfc24a08cd6c509d8ddcc15c67dcea4340be4c96673dbc6f8'),
    ],
    'lentimpra': [
        ('expression/lentimpra_wtc11/LICENSE.source', 1070, 'a43c0517b34d46afbb75b48bee74c0e52ae3612f9b860a81d566320ea49c0f15'),
        ('expression/lentimpra_wtc11/WTC11_test.tsv', 1097968, 'e4cd3b668117818f07a311ea989c05825ab4481124796d331137642084c6ceaa'),
        ('expression/lentimpra_wtc11/WTC11_valid.tsv', 1097282, '7caa09eb6870e9a0e6c557f879c6abc330b654c29908663da06a2a544294afb7'),
    ],
    'dream2022': [
        ('expression/dream2022_samples/LICENSE.source', 1068, '90c6fb6542403a1216b4e30ff68492f12ee83a75b6454de1e7800551c9e20243'),
        ('expression/dream2022_samples/drosophila/sample_test.txt', 353192, 'b610f47c3e1f108258773ed77dd6234757da1c7d8a652660739da76454d2395c'),
        ('expression/dream2022_samples/drosophila/sample_train.txt', 353001, 'e819d1424f4f59434d7888724b2f787ca791af9ba9462818d16e03cf1a7463df'),
        ('expression/dream2022_samples/drosophila/sample_val.txt', 352949, 'e35e5b92b5a1b83550b10c304cbf56c2cc00934b347c96bd2b8641d106587320'),
        ('expression/dream2022_samples/human/sample_test.txt', 255759, 'f52f30144dd13de49635ab7b902a5fd21b04b94d35d06b9691a1314ea470d233'),
        ('expression/dream2022_samples/human/sample_train.txt', 255433, 'f70b10aba904dfaccf4b1c6e00f7aa818c4ccac078ab93cb6fcd928975840887'),
        ('expression/dream2022_samples/human/sample_valid.txt', 255932, '37335175d7132d0556f1e5643e55bd991f0a48bebff360e1335f870319c2bac7'),
        ('expression/dream2022_samples/yeast/demo_train.txt', 760902, '277090c096efb1592d1b017fffef6d83d96817ae4430109ddc5ba45b66dd8ede'),
    ],
    'aitac': [
        ('expression/aitac_immgen_sample/LICENSE.source', 1065, '854fb3399180242d1f991d8c5af775a97d61866037601bdc2df84d02441f1b06'),
        ('expression/aitac_immgen_sample/cell_type_array.npy', 32528, 'b18bf2bab95f775fd81ebdb29f95d0c433ec04714e78fa056a4f38bc8296f9c5'),
        ('expression/aitac_immgen_sample/cell_type_names.npy', 3086, '487c22d7f4d60069d0c68b457d8faa5c551e6ec1986a2c4ba38b34f48f5c863f'),
        ('expression/aitac_immgen_sample/one_hot_seqs.npy', 100528, 'cddd745f025f11dec7a72f8eaf3247e106eb71c1eb546259a7a5cabc0bace45f'),
        ('expression/aitac_immgen_sample/peak_names.npy', 2728, '151e7d6f323f47001742c1e7325b8b35bbf31cc3ae830e49984c92b664a2cf8f'),
    ],
}


def sources() -> list[str]:
    return sorted(FILES)


def upstream_name(path: str) -> str:
    """File name at the upstream location (DeepBind's release is flat)."""
    return PurePosixPath(path).name
